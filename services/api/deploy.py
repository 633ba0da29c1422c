"""Deploy spec of the public API: Litestar on a zip Lambda behind API Gateway v2."""

from infra.service_spec import Concurrency, HttpMethod, HttpRoute, Secret, ServiceSpec

_PREFIX = "/api/v1"

_ROUTES: tuple[tuple[HttpMethod, str], ...] = (
    ("GET", "/health"),
    ("GET", "/health/deep"),
    ("GET", "/health/version"),
    ("GET", "/plates"),
    ("GET", "/plates/{registration}"),
    ("POST", "/valuations"),
    ("POST", "/valuations/batch"),
    ("GET", "/offers"),
    ("POST", "/offers"),
    ("POST", "/offers/{offer_id}/withdraw"),
    ("POST", "/offers/{offer_id}/accept"),
    ("POST", "/offers/{offer_id}/reject"),
    ("GET", "/claims"),
    ("POST", "/claims"),
    ("GET", "/claims/{claim_id}"),
    ("POST", "/claims/{claim_id}/documents"),
    ("POST", "/claims/{claim_id}/documents/{document_id}/confirm"),
    ("POST", "/claims/{claim_id}/approve"),
    ("POST", "/claims/{claim_id}/reject"),
    ("POST", "/webhooks/clerk"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/schema"),
    ("GET", "/schema/{proxy+}"),
)

SPEC = ServiceSpec(
    name="api",
    package="zip",
    handler="services.api.handler.handler",
    architecture="arm64",
    memory_mb=1024,
    timeout_s=29,  # under API Gateway's 30 s integration limit, so the client sees our error, not a 504
    routes=tuple(HttpRoute(method, _PREFIX + path) for method, path in _ROUTES),
    vpc=True,
    links=(
        "database",
        "documents",
        "clerk",
        "valuation",
        Secret("clerk_secret_key"),
        Secret("clerk_webhook_secret"),
        Secret("stripe_secret_key"),
        Secret("stripe_webhook_secret"),
        Secret("app_signing_key"),
        # Stored for the email sender and the DVLA vehicle lookup; granted once the code reads them.
        Secret("resend_api_key", granted=False),
        Secret("dvla_api_key", granted=False),
    ),
    # Most of the database's connections: it answers people. Each environment holds its read connection and
    # its write engine's.
    concurrency=Concurrency(share=0.75, connections=2),
    description="Reggie public API (plates, valuations, offers, claims, webhooks)",
)
