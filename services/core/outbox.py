"""The email sender: delivers the outbox (:mod:`services.core.notifications`) through Resend.

Each due row is taken with ``FOR UPDATE SKIP LOCKED`` in its own transaction, so concurrent senders
(two scheduled runs overlapping, the local stack's loop) never take the same one, and sent under the
row's ``idempotency_key``: a sender that crashes after Resend accepted the email and before its
commit leaves the row pending, and the next send with the same key gets the same email id back, not
a second email (Resend keeps keys 24 hours; the retries below end well within that).

What happens to a row:

* accepted: ``sent`` with Resend's id;
* Resend down, slow, rate-limiting or refusing our key (:class:`EmailUnavailable`), or the user has no
  address yet: tried again after 1, 2, 4 ... minutes (at most an hour apart), ``failed`` after
  :data:`MAX_ATTEMPTS`;
* refused for good (:class:`EmailRejected`: a malformed address, a key reused with another body):
  ``failed`` at once, with Resend's reason in ``last_error``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.core.external.errors import EmailRejected, EmailUnavailable
from services.core.models import EmailOutbox, EmailStatus, User

__all__ = ["MAX_ATTEMPTS", "MailSender", "SendReport", "retry_delay", "send_due"]

log = logging.getLogger("reggie.outbox")

MAX_ATTEMPTS = 8
"""1 + 2 + 4 + ... + 60 minutes: about four hours of retries, well inside Resend's 24-hour key window."""
_FIRST_RETRY = timedelta(minutes=1)
_LONGEST_WAIT = timedelta(hours=1)


class MailSender(Protocol):
    """What the sender needs of :class:`services.core.external.email.Mailer`."""

    def send_email(
        self, *, to: str, subject: str, html: str, text: str | None, idempotency_key: str, tags: dict[str, str]
    ) -> str: ...


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list[str])

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "errors": self.errors[:10]}


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(_FIRST_RETRY * 2 ** max(attempts - 1, 0), _LONGEST_WAIT)


def send_due(
    engine: Engine,
    mailer: MailSender,
    *,
    limit: int = 100,
    deadline: float | None = None,
    now: Callable[[], datetime] | None = None,
) -> SendReport:
    """Send up to ``limit`` due emails, one transaction each; stop early at ``deadline`` (``time.monotonic()``)."""
    clock = now or (lambda: datetime.now(UTC))
    report = SendReport()
    for _ in range(limit):
        if deadline is not None and time.monotonic() > deadline:
            break
        with Session(engine) as session, session.begin():
            if not _send_next(session, mailer, clock(), report):
                break
    return report


def _send_next(session: Session, mailer: MailSender, now: datetime, report: SendReport) -> bool:
    """Send the oldest due email; ``False`` when none is due."""
    row = session.execute(
        select(EmailOutbox, func.coalesce(User.email, EmailOutbox.to_address).label("address"))
        .outerjoin(User, (User.id == EmailOutbox.user_id) & User.deleted_at.is_(None))
        .where(EmailOutbox.status == EmailStatus.PENDING.value, EmailOutbox.next_attempt_at <= now)
        .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id)
        .limit(1)
        .with_for_update(of=EmailOutbox, skip_locked=True)
    ).first()
    if row is None:
        return False
    email, address = row
    email.attempts += 1
    try:
        if not address:
            raise EmailUnavailable("the recipient has no email address yet")
        email.provider_id = mailer.send_email(
            to=address,
            subject=email.subject,
            html=email.html_body,
            text=email.text_body,
            idempotency_key=f"outbox-{email.idempotency_key}",
            tags={"kind": email.kind},
        )
    except EmailRejected as exc:
        _fail(email, exc.message, report)
    except EmailUnavailable as exc:
        if email.attempts >= MAX_ATTEMPTS:
            _fail(email, exc.message, report)
        else:
            email.last_error = exc.message
            email.next_attempt_at = now + retry_delay(email.attempts)
            report.retrying += 1
            log.info("email %s not sent (%s); retrying at %s", email.id, exc.message, email.next_attempt_at)
    else:
        email.status = EmailStatus.SENT.value
        email.sent_at = now
        email.last_error = None
        report.sent += 1
    return True


def _fail(email: EmailOutbox, reason: str, report: SendReport) -> None:
    email.status = EmailStatus.FAILED.value
    email.last_error = reason
    report.failed += 1
    report.errors.append(f"email {email.id}: {reason}")
    log.error("email %s (%s) failed for good after %d attempts: %s", email.id, email.kind, email.attempts, reason)
