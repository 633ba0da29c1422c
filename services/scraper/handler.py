"""Lambda entry point of the scraper.

Events:

* the weekly schedule (EventBridge, ``"source": "aws.events"``) or ``{}``: register the configured
  event ids (``AUCTION_EVENT_IDS``) and fetch every due event (:mod:`services.scraper.events`);
* ``{"event_id": "1234"}``: register that event and fetch it now;
* ``{"files": ["/path/a.xlsx", ...]}``: import local files (the local stack and tests).

Answers ``{"run": {...}}`` or ``{"imports": [report, ...]}`` with each event's or file's counts and
bad lines, or ``{"error": {...}}``; it never raises.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from services.core.auction_events import InvalidEventId, check_event_id
from services.core.dvla_results import ResultsFileError
from services.core.settings import SettingsError

log = logging.getLogger(__name__)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    if not isinstance(event, dict):
        return _error("invalid_event", "the event must be a JSON object")
    try:
        return _handle(event, _deadline(context))
    except (InvalidEventId, SettingsError) as exc:
        return _error("invalid_event" if isinstance(exc, InvalidEventId) else "invalid_settings", str(exc))
    except (ResultsFileError, OSError) as exc:
        return _error("bad_results_file", str(exc))
    except Exception as exc:  # a scheduled job reports, it does not crash the invocation
        log.exception("scraper failed")
        return _error("import_failed", f"{type(exc).__name__}: {str(exc)[:300]}")


def _deadline(context: Any) -> float | None:
    remaining: Any = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    millis: Any = remaining()
    return time.monotonic() + float(millis) / 1000


def _handle(event: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    # Settings and the engine are read at the first invocation, not at import.
    from services.core.db import get_engine  # noqa: PLC0415
    from services.scraper.events import run_due_events  # noqa: PLC0415
    from services.scraper.importer import import_file  # noqa: PLC0415
    from services.scraper.settings import load_scraper_settings  # noqa: PLC0415

    if "files" in event:
        files = event["files"]
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            return _error("invalid_event", "'files' must be a non-empty list of paths")
        return {"imports": [import_file(get_engine(), Path(f)).as_dict() for f in files]}
    only = (check_event_id(event["event_id"]),) if "event_id" in event else ()
    run = run_due_events(get_engine(), load_scraper_settings(), only=only, deadline=deadline)
    return {"run": run.as_dict()}
