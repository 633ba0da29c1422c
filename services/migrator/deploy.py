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
    vpc=True,
    links=("database",),
    run_on_deploy=True,
    run_inputs=("migrations",),  # a new revision runs it again, whatever the image
    reserved_concurrency=1,  # a second concurrent run would only wait on the advisory lock
    description="Database migrations (Alembic upgrade head) run on every deploy",
)
