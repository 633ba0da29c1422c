"""Deploy spec of the worker: every minute, lapse unpaid accepted offers and send the email outbox."""

from infra.service_spec import Concurrency, Secret, ServiceSpec

SPEC = ServiceSpec(
    name="worker",
    package="zip",
    handler="services.worker.handler.handler",
    architecture="arm64",
    memory_mb=256,
    timeout_s=60,
    # Emails are sent within a minute of the change they report; overlapping runs are harmless (each
    # outbox row is taken with SKIP LOCKED, each lapse re-checked under the plate's lock).
    schedule="rate(1 minute)",
    vpc=True,  # the database is in the private subnets; Resend is reached through the NAT
    links=("database", Secret("resend_api_key")),
    # Runs overlap only when one outlasts the minute: two environments at most, one connection each.
    concurrency=Concurrency(fixed=2, connections=1),
    description="Marketplace worker: lapses unpaid accepted offers, sends the email outbox through Resend",
)
