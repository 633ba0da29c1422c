"""One run of the worker: lapse what is due, then send what is due, within a deadline.

The scheduled Lambda (:mod:`services.worker.handler`) runs it every minute; the local stack runs it
in a loop; tests call it as the scheduler would. Each half is independent: a failure of one is
reported and the other still runs, so Resend being down never holds up a lapse and the reverse.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from services.core.offers import lapse_due
from services.core.outbox import MailSender, send_due

__all__ = ["run_once"]

log = logging.getLogger("reggie.worker")


def run_once(engine: Engine, mailer: MailSender | None, *, deadline: float | None = None) -> dict[str, Any]:
    """Lapse due offers, then send due emails (``mailer`` ``None``: sending is not configured)."""
    report: dict[str, Any] = {}
    try:
        report["lapse"] = lapse_due(engine).as_dict()
    except Exception as exc:  # reported; the emails still go out
        log.exception("the lapse run failed")
        report["lapse"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    if mailer is None:
        report["emails"] = {"error": "email sending is not configured"}
        return report
    try:
        report["emails"] = send_due(engine, mailer, deadline=deadline).as_dict()
    except Exception as exc:
        log.exception("the email run failed")
        report["emails"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return report
