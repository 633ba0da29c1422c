"""Lambda entry point of the worker, invoked every minute by its schedule (any event is a run).

Answers ``{"lapse": {...}, "emails": {...}}`` with what each half did, or ``{"error": {...}}`` when
the worker is misconfigured; it never raises, so a bad minute is a log line, not a retry storm.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from services.core.settings import SettingsError

log = logging.getLogger(__name__)

_MARGIN_S = 5.0
"""Stop sending this long before Lambda's timeout, so the last transaction commits."""


@cache
def _mailer() -> Any:
    from services.core.external.email import Mailer  # noqa: PLC0415
    from services.worker.settings import resend_settings  # noqa: PLC0415

    return Mailer(resend_settings())


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    del event  # every invocation is one run, whatever triggered it
    from services.core.db import get_engine  # noqa: PLC0415 - settings and the engine at the first run
    from services.worker.jobs import run_once  # noqa: PLC0415

    remaining: Any = getattr(context, "get_remaining_time_in_millis", None)
    deadline = None
    if callable(remaining):
        millis: Any = remaining()
        deadline = time.monotonic() + float(millis) / 1000 - _MARGIN_S
    try:
        mailer = _mailer()
    except SettingsError as exc:
        log.error("the worker cannot send email: %s", exc)
        mailer = None
    try:
        return run_once(get_engine(), mailer, deadline=deadline)
    except SettingsError as exc:
        return {"error": {"code": "invalid_settings", "message": str(exc)}}
