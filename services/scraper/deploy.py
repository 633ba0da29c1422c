"""Deploy spec of the scraper: imports the week's DVLA auction results into ``sales``, on a schedule."""

from infra.service_spec import Concurrency, ServiceSpec

SPEC = ServiceSpec(
    name="scraper",
    package="zip",
    handler="services.scraper.handler.handler",
    architecture="arm64",
    memory_mb=512,
    timeout_s=300,
    schedule="cron(0 4 ? * MON *)",  # weekly, Monday 04:00 UTC, after the weekend's results are published
    vpc=True,  # the database is in the private subnets; results downloads leave through the NAT
    links=("database",),
    concurrency=Concurrency(fixed=1, connections=1),  # one weekly run at a time, on one connection
    description="DVLA auction results import (Excel export or CSV) into sales, weekly",
)
