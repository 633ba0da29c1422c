"""Deploy spec of the valuation service: LightGBM blended with the rules engine, as a container image,
returning each valuation with the comparable past sales it reads from ``sales``."""

from infra.service_spec import Concurrency, ServiceSpec

SPEC = ServiceSpec(
    name="valuation",
    package="image",
    handler="services.valuation.handler.handler",
    dockerfile="services/valuation/Dockerfile",
    architecture="arm64",
    memory_mb=1536,
    timeout_s=30,
    vpc=True,  # the database is in the private subnets; the secret is read through the NAT
    links=("database",),  # comparable past sales (a read-only role of its own comes with database roles)
    # Invoked by the API, at most once per API request: a fifth of the connections, one per environment.
    concurrency=Concurrency(share=0.2, connections=1),
    description="Plate valuation: LightGBM and rules ensemble, with comparable past sales",
)
