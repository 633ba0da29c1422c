"""Deploy spec of the migrator: Alembic `upgrade head`, invoked on every deploy before the API serves."""

from infra.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="migrator",
    package="image",
    handler="services.migrator.handler.handler",
    dockerfile="services/migrator/Dockerfile",
    architecture="x86_64",
    memory_mb=512,
    timeout_s=300,
    needs_vpc=True,
    needs_database=True,
    run_on_deploy=True,
    reserved_concurrency=1,  # a second concurrent run would only wait on the advisory lock
    description="Database migrations (Alembic upgrade head) run on every deploy",
)
