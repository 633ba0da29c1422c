"""Deploy spec of the scraper: imports the week's DVLA auction results into ``sales``, on a schedule."""

from infra.service_spec import Concurrency, ServiceSpec, Setting

SPEC = ServiceSpec(
    name="scraper",
    package="zip",
    handler="services.scraper.handler.handler",
    architecture="arm64",
    memory_mb=512,
    timeout_s=300,
    schedule="cron(0 4 ? * MON *)",  # weekly, Monday 04:00 UTC, after the weekend's results are published
    vpc=True,  # the database is in the private subnets; results downloads leave through the NAT
    links=(
        "database",
        # reggie:auctionEventIds: the auctioneer's events to fetch (an admin can add more through the API).
        Setting(
            "auction_event_ids",
            pattern=r"[A-Za-z0-9_-]{1,32}([,\s]+[A-Za-z0-9_-]{1,32})*",
            allowed="event ids like 1234 (letters, digits, - or _), separated by commas or spaces",
        ),
        # reggie:auctionResultsUrlTemplate: where an event's results are; the DVLA auctioneer's by default.
        Setting(
            "auction_results_url_template",
            pattern=r"https://[^\s{}]+\{event_id\}[^\s{}]*",
            allowed="an https URL with {event_id} once, like https://dvlaauction.co.uk/Event/DownloadExcel?EventID={event_id}",
        ),
    ),
    concurrency=Concurrency(fixed=1, connections=1),  # one weekly run at a time, on one connection
    description="DVLA auction results import (Excel export or CSV) into sales, weekly",
)
