"""The scraper's own settings, from its environment (the database comes from ``services.core.settings``).

Variables (the infra wiring sets them from config; ``make dev`` and tests set them directly):

``AUCTION_EVENT_IDS``
    The auctioneer's event ids to fetch, separated by commas or spaces (``reggie:auctionEventIds``).
    Events an admin adds are in the ``auction_events`` table and need no config.
``AUCTION_RESULTS_URL_TEMPLATE``
    Where an event's results are, with ``{event_id}`` where the id goes; default
    :data:`DEFAULT_URL_TEMPLATE`. It must be ``https``; plain ``http`` only to this machine (the
    tests' and the local stack's stand-in servers).
``AUCTION_RECHECK_DAYS``
    How long after its first import an event is fetched again in case the file is re-published
    (default 28; 0 never re-checks).
``AUCTION_FETCH_TIMEOUT_S``
    The longest one download may take, connecting and reading (default 30).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlparse

from services.core.auction_events import InvalidEventId, check_event_id
from services.core.contract import setting_variable
from services.core.settings import SettingsError, number_setting

__all__ = ["DEFAULT_URL_TEMPLATE", "ScraperSettings", "load_scraper_settings"]

DEFAULT_URL_TEMPLATE = "https://dvlaauction.co.uk/Event/DownloadExcel?EventID={event_id}"
PLACEHOLDER = "{event_id}"
MAX_EVENTS_PER_RUN = 25
"""Events fetched by one run at most; the rest wait for the next (a run also stops before Lambda's timeout)."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Linked stage settings (the spec's Setting links), and two tuning knobs only the local stack and tests set.
EVENT_IDS = setting_variable("auction_event_ids")
URL_TEMPLATE = setting_variable("auction_results_url_template")
RECHECK_DAYS = setting_variable("auction_recheck_days")
FETCH_TIMEOUT_S = setting_variable("auction_fetch_timeout_s")


@dataclass(frozen=True, slots=True)
class ScraperSettings:
    event_ids: tuple[str, ...] = ()
    url_template: str = DEFAULT_URL_TEMPLATE
    recheck: timedelta = timedelta(days=28)
    fetch_timeout_s: float = 30.0
    max_events_per_run: int = MAX_EVENTS_PER_RUN

    def url_for(self, event_id: str) -> str:
        return self.url_template.replace(PLACEHOLDER, quote(check_event_id(event_id), safe=""))


def load_scraper_settings(environ: Mapping[str, str] | None = None) -> ScraperSettings:
    """Parse the scraper's variables (default: ``os.environ``); a bad one is a :class:`SettingsError` naming it."""
    env = os.environ if environ is None else environ
    try:
        ids = tuple(dict.fromkeys(check_event_id(p) for p in re.split(r"[,\s]+", env.get(EVENT_IDS, "")) if p))
    except InvalidEventId as exc:
        raise SettingsError(f"{EVENT_IDS}: {exc}") from None
    template = env.get(URL_TEMPLATE, "").strip() or DEFAULT_URL_TEMPLATE
    _check_template(template)
    return ScraperSettings(
        event_ids=ids,
        url_template=template,
        recheck=timedelta(days=number_setting(env, RECHECK_DAYS, 28, 0, 365)),
        fetch_timeout_s=number_setting(env, FETCH_TIMEOUT_S, 30, 1, 120),
    )


def _check_template(template: str) -> None:
    url = urlparse(template.replace(PLACEHOLDER, "1"))
    if template.count(PLACEHOLDER) != 1:
        raise SettingsError(f"{URL_TEMPLATE} must contain {PLACEHOLDER} once, got {template!r}")
    if not url.hostname or not (url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOOPBACK)):
        raise SettingsError(f"{URL_TEMPLATE} must be an https URL (http only to this machine), got {template!r}")
