"""The environment contract: every variable the platform sets on a function, named once.

The infra wiring (``infra/links.py``) sets these on each Lambda function, ``services/core/settings.py``
parses them, and the local stack (``services/local/stack.py``) sets the same names pointed at local parts.
All three import the names from here, so they cannot drift apart. Standard library only: the local stack
imports this before anything heavy.

| variable | set when the spec ... | meaning |
|---|---|---|
| `STAGE` | always | the stack name: `production`, `staging`, `dev-<name>` (`local` under `make dev`) |
| `SERVICE_NAME` | always | the service's folder name |
| `LOG_LEVEL` | always | `INFO` unless overridden |
| `APP_VERSION` | always | the platform's version (`pyproject.toml`) the deploy was made from |
| `GIT_COMMIT` | always | the newest commit that changed this function's package (its code and build |
|   |   | inputs), `-dirty` when the checkout had uncommitted changes there, `unknown` without git |
|   |   | history; so a deploy that leaves a function's package alone leaves its configuration alone |
| `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER` | links `database` | the Aurora writer, logged in as the |
|   |   | service's own role (:func:`database_role`) with IAM authentication tokens, TLS verified |
| `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_SECRET_ARN` | links `database_master` | the Aurora writer as the master |
|   |   | user, its password from the RDS-managed secret (the migrator only) |
| `DATABASE_URL` | never deployed | locally and in tests: a full PostgreSQL URL instead of the four above |
| `BUCKET_NAME`, `BUCKET_ENDPOINT` | links `documents` | the R2 bucket and its jurisdiction's S3 endpoint |
| `<NAME>_FUNCTION_NAME` | links another service | e.g. `VALUATION_FUNCTION_NAME` |
| `<SECRET>_PARAMETER` | links `Secret("<secret>")` | the SSM parameter *name* holding the secret, |
|   |   | e.g. `CLERK_SECRET_KEY_PARAMETER`; never the value |
| `<SECRET>` | never deployed | locally and in tests: the secret's value itself, e.g. `R2_ACCESS_KEY_ID` |
| `SECRETS_VERSION` | links any secret | the parameters' SSM versions (`name:version,...`), read by |
|   |   | nobody: changing a secret changes the function's configuration, so warm environments (and a |
|   |   | SnapStart snapshot) that read the old value at init are replaced |
| `ALLOWED_ORIGINS`, `CLERK_ISSUER`, `CLERK_JWKS_URL` | links `clerk` | comma-separated origins (the |
|   |   | tokens' `azp`), the Clerk issuer URL and its JWKS URL |
| `<SETTING>` | links `Setting("<setting>")` | the stage setting's value, e.g. `AUCTION_EVENT_IDS` |

The marketplace's own settings (read by :mod:`services.core.market_settings`; each has a default, so a
stage sets none of them unless it wants another value; locally they point at the stand-ins):

| variable | default | meaning |
|---|---|---|
| `OFFER_LAPSE_DAYS` | 3 | days an accepted offer may stay unpaid before the scheduled run lapses it |
| `VALUATION_MAX_AGE_DAYS` | 30 | a cached valuation older than this is valued again on lookup |
| `EMAIL_SENDER` | `Reggie <notifications@reggie.co.uk>` | the `from` of every email (a Resend-verified domain) |
| `CHECKOUT_RETURN_URL` | the first allowed origin | where Stripe Checkout sends the buyer back |
| `STRIPE_API_BASE` | `https://api.stripe.com` | the Stripe API (the stand-in's URL locally) |
| `RESEND_API_URL` | `https://api.resend.com` | the Resend API (the stand-in's URL locally) |
| `DVLA_API_URL` | `https://driver-vehicle-licensing.api.gov.uk` | the DVLA Vehicle Enquiry Service |
| `MAX_OPEN_CLAIMS` | 5 | pending ownership claims one user may have at once (the API links it: |
|   |   | `reggie:maxOpenClaims`) |
| `MAX_CLAIM_DOCUMENTS` | 5 | documents one claim may hold, rejected uploads included (`reggie:maxClaimDocuments`) |
"""

from __future__ import annotations

# Grouped by what sets them (the table above); each name is its own value.
# Always:
STAGE, SERVICE_NAME, LOG_LEVEL = "STAGE", "SERVICE_NAME", "LOG_LEVEL"
APP_VERSION, GIT_COMMIT = "APP_VERSION", "GIT_COMMIT"
UNKNOWN_RELEASE = "unknown"
"""What a function reports for a version or commit nobody set (a local run, a build without git)."""
# The database link, and locally the URL that stands in for it:
DB_HOST, DB_PORT, DB_NAME, DB_SECRET_ARN = "DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET_ARN"
DB_USER = "DB_USER"
DATABASE_URL = "DATABASE_URL"
# The documents link:
BUCKET_NAME, BUCKET_ENDPOINT = "BUCKET_NAME", "BUCKET_ENDPOINT"
# The clerk link:
ALLOWED_ORIGINS, CLERK_ISSUER, CLERK_JWKS_URL = "ALLOWED_ORIGINS", "CLERK_ISSUER", "CLERK_JWKS_URL"
# Any secret link; then the suffixes of the per-service and per-secret names:
SECRETS_VERSION = "SECRETS_VERSION"
FUNCTION_NAME_SUFFIX, PARAMETER_SUFFIX = "_FUNCTION_NAME", "_PARAMETER"
# The marketplace's settings, each with a default (services/core/market_settings.py):
OFFER_LAPSE_DAYS, VALUATION_MAX_AGE_DAYS = "OFFER_LAPSE_DAYS", "VALUATION_MAX_AGE_DAYS"
EMAIL_SENDER, CHECKOUT_RETURN_URL = "EMAIL_SENDER", "CHECKOUT_RETURN_URL"
STRIPE_API_BASE, RESEND_API_URL, DVLA_API_URL = "STRIPE_API_BASE", "RESEND_API_URL", "DVLA_API_URL"
MAX_OPEN_CLAIMS, MAX_CLAIM_DOCUMENTS = "MAX_OPEN_CLAIMS", "MAX_CLAIM_DOCUMENTS"

UNSET_SECRET = "unset"  # noqa: S105 - a marker, not a credential
"""What a personal stage stores for a secret nobody set: a function reading it must treat the secret as not
configured (a webhook signed with it would be forgeable), never use it as a value."""


def database_role(service: str) -> str:
    """The database role a service logs in as: ``api`` → ``reggie_api`` (created by the migrations, which
    grant it exactly what the service's code uses; see ``migrations/versions/0004_database_roles.py``)."""
    return "reggie_" + service.replace("-", "_")


def function_name_variable(service: str) -> str:
    """The variable naming another service's function: ``valuation`` → ``VALUATION_FUNCTION_NAME``."""
    return service.upper() + FUNCTION_NAME_SUFFIX


def secret_parameter_variable(secret: str) -> str:
    """The variable naming a secret's SSM parameter: ``stripe_secret_key`` → ``STRIPE_SECRET_KEY_PARAMETER``."""
    return secret.upper() + PARAMETER_SUFFIX


def secret_value_variable(secret: str) -> str:
    """The variable holding a secret's value directly (local stage and tests only): ``R2_ACCESS_KEY_ID``."""
    return secret.upper()


def setting_variable(setting: str) -> str:
    """The variable holding a linked stage setting: ``auction_event_ids`` → ``AUCTION_EVENT_IDS``."""
    return setting.upper()


def clerk_jwks_url(issuer: str) -> str:
    """Where an issuer publishes its signing keys (Clerk's, and the local issuer's, well-known path)."""
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"
