"""Deploy spec of the migrator: Alembic `upgrade head`, invoked on every deploy before the API serves."""

from infra.service_spec import Concurrency, ServiceSpec

SPEC = ServiceSpec(
    name="migrator",
    package="image",
    handler="services.migrator.handler.handler",
    dockerfile="services/migrator/Dockerfile",
    architecture="x86_64",
    memory_mb=512,
    timeout_s=300,
    vpc=True,
    links=("database_master",),  # the master user: it creates the schema and every service's role
    run_on_deploy=True,
    run_inputs=("migrations",),  # a new revision runs it again, whatever the image
    # No reservation (an account with little unreserved concurrency would refuse one, and it runs only on
    # deploys); a second run at once queues on the advisory lock. It holds two connections: lock, migration.
    concurrency=Concurrency(connections=2),
    description="Database migrations (Alembic upgrade head) run on every deploy",
)
