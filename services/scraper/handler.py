"""Lambda entry point of the scraper.

Events:

* the weekly schedule (EventBridge, ``"source": "aws.events"``) or ``{}``: fetch ``RESULTS_URL`` (an
  environment variable the stage may set to the auctioneer's latest results export) and import it;
  without one there is nothing to fetch and the answer says so;
* ``{"url": "https://...", "auction": "optional-id"}``: fetch and import that file;
* ``{"files": ["/path/a.xlsx", ...]}``: import local files (the local stack and tests).

Answers ``{"imports": [report, ...]}`` with each file's counts and bad lines, or ``{"error": {...}}``;
it never raises.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from services.scraper.importer import EXCEL_SUFFIXES, import_file
from services.scraper.rows import ResultsFileError

log = logging.getLogger(__name__)
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 60


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    if not isinstance(event, dict):
        return _error("invalid_event", "the event must be a JSON object")
    try:
        return _handle(event)
    except ResultsFileError as exc:
        return _error("bad_results_file", str(exc))
    except Exception as exc:  # a scheduled job reports, it does not crash the invocation
        log.exception("scraper failed")
        return _error("import_failed", f"{type(exc).__name__}: {exc}")


def _handle(event: dict[str, Any]) -> dict[str, Any]:
    from services.core.db import get_engine  # noqa: PLC0415  # settings are read at the first invocation

    if "files" in event:
        files = event["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files) or not files:
            return _error("invalid_event", "'files' must be a non-empty list of paths")
        return {"imports": [import_file(get_engine(), Path(f)).as_dict() for f in files]}
    url = event.get("url") or os.environ.get("RESULTS_URL")
    if not url:
        return {"imports": [], "note": "no 'url' in the event and no RESULTS_URL configured: nothing to fetch"}
    if not isinstance(url, str) or urlparse(url).scheme != "https":
        return _error("invalid_event", "'url' must be an https URL")
    auction = event.get("auction")
    if auction is not None and not isinstance(auction, str):
        return _error("invalid_event", "'auction' must be a string")
    with tempfile.TemporaryDirectory() as folder:
        path = _download(url, Path(folder))
        return {"imports": [import_file(get_engine(), path, auction=auction).as_dict()]}


def _download(url: str, folder: Path) -> Path:
    import httpx  # noqa: PLC0415  # only URL imports need it

    name = PurePosixPath(urlparse(url).path).name or "results"
    with httpx.stream("GET", url, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True) as response:
        response.raise_for_status()
        kind = response.headers.get("content-type", "")
        if not name.lower().endswith((*EXCEL_SUFFIXES, ".csv")):
            name += ".csv" if "csv" in kind else ".xlsx"
        target = folder / name
        size = 0
        with target.open("wb") as out:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise ResultsFileError(f"{url} is larger than {MAX_DOWNLOAD_BYTES // 2**20} MB")
                out.write(chunk)
    return target
