"""Deploy spec of the valuation service: LightGBM blended with the rules engine, as a container image."""

from infra.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="valuation",
    package="image",
    handler="services.valuation.handler.handler",
    dockerfile="services/valuation/Dockerfile",
    architecture="arm64",
    memory_mb=1536,
    timeout_s=30,
    # No links and no VPC: pure computation on the registration; it reaches nothing.
    description="Plate valuation: LightGBM and rules ensemble",
)
