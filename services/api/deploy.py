"""Deploy spec of the public API: Litestar on a zip Lambda behind API Gateway v2."""

from infra.service_spec import (
    Concurrency,
    HealthCheck,
    HttpMethod,
    HttpRoute,
    RouteBudget,
    Secret,
    ServiceSpec,
    Setting,
)

_PREFIX = "/api/v1"

_ROUTES: tuple[tuple[HttpMethod, str], ...] = (
    ("GET", "/health"),
    ("GET", "/health/deep"),
    ("GET", "/health/version"),
    ("GET", "/plates"),
    ("GET", "/plates/{registration}"),
    ("GET", "/plates/{registration}/fits"),
    ("POST", "/valuations"),
    ("POST", "/valuations/batch"),
    ("GET", "/listings"),
    ("POST", "/listings"),
    ("PATCH", "/listings/{listing_id}"),
    ("GET", "/listings/{listing_id}/offers"),
    ("POST", "/listings/{listing_id}/withdraw"),
    ("POST", "/listings/{listing_id}/unlist"),
    ("GET", "/offers"),
    ("POST", "/offers"),
    ("GET", "/offers/{offer_id}"),
    ("POST", "/offers/{offer_id}/withdraw"),
    ("POST", "/offers/{offer_id}/accept"),
    ("POST", "/offers/{offer_id}/reject"),
    ("POST", "/offers/{offer_id}/checkout"),
    ("GET", "/claims"),
    ("POST", "/claims"),
    ("GET", "/claims/{claim_id}"),
    ("POST", "/claims/{claim_id}/documents"),
    ("POST", "/claims/{claim_id}/documents/{document_id}/confirm"),
    ("GET", "/claims/{claim_id}/documents/{document_id}/view"),
    ("POST", "/claims/{claim_id}/approve"),
    ("POST", "/claims/{claim_id}/reject"),
    ("GET", "/auction-events"),
    ("POST", "/auction-events"),
    ("POST", "/webhooks/clerk"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/payment-issues"),
    ("POST", "/admin/payment-issues/{issue_id}/resolve"),
    ("GET", "/schema"),
    ("GET", "/schema/{proxy+}"),
)
_BUDGETS: dict[tuple[HttpMethod, str], RouteBudget] = {
    # Each invokes the model for up to 100 marks and writes them (cached marks aside), or checks every dependency:
    # tighter throttles, and a stricter limit per client at Cloudflare.
    ("GET", "/health/deep"): "costly",
    ("POST", "/valuations"): "costly",
    ("POST", "/valuations/batch"): "costly",
    # Stripe's and Clerk's callbacks: a budget of their own, which a flood of the other routes cannot drain.
    ("POST", "/webhooks/clerk"): "webhook",
    ("POST", "/webhooks/stripe"): "webhook",
}

SPEC = ServiceSpec(
    name="api",
    package="zip",
    handler="services.api.handler.handler",
    architecture="arm64",
    memory_mb=1024,
    timeout_s=29,  # under API Gateway's 30 s integration limit, so the client sees our error, not a 504
    routes=tuple(
        HttpRoute(method, _PREFIX + path, _BUDGETS.get((method, path), "standard")) for method, path in _ROUTES
    ),
    vpc=True,
    links=(
        "database",
        "documents",
        "clerk",
        "valuation",
        # Exactly the secrets the API's code reads: the webhook signing secrets, Stripe for Checkout and
        # the DVLA for vehicle lookups (the R2 key pair comes with "documents"). Emails are the worker's.
        Secret("clerk_webhook_secret"),
        Secret("stripe_secret_key"),
        Secret("stripe_webhook_secret"),
        Secret("dvla_api_key"),
        # Stored for the stage, read by no code yet: not granted.
        Secret("clerk_secret_key", granted=False),
        Secret("app_signing_key", granted=False),
        # reggie:maxOpenClaims, reggie:maxClaimDocuments: quotas per user and per claim (5 each when unset;
        # services.core.market_settings parses them, to the same rule).
        *(
            Setting(name, pattern=r"[1-9][0-9]?", allowed="a whole number from 1 to 99")
            for name in ("max_open_claims", "max_claim_documents")
        ),
    ),
    # Most of the database's connections: it answers people. Each environment holds its read connection and
    # its write engine's.
    concurrency=Concurrency(share=0.75, connections=2),
    description="Reggie public API (plates, listings, valuations, offers, checkout, claims, webhooks)",
    # The names services.api.health.service.CHECKS reports (a test keeps the two equal).
    health_check=HealthCheck(_PREFIX + "/health/deep", checks=("database", "valuation", "storage")),
)
