"""The email outbox against a real PostgreSQL and the Resend stand-in, through the official library:
retried with backoff under one idempotency key, never lost nor doubled by a crash, refused addresses
failed for good, concurrent senders sending each email once; and the worker's settings."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from services.core.external.email import Mailer, ResendSettings
from services.core.notifications import EmailKind, notify
from services.core.outbox import MAX_ATTEMPTS, retry_delay, send_due
from services.core.settings import SettingsError
from services.local.standins.resend import ResendStandin, start_resend
from services.local.standins.server import Running
from services.worker.settings import resend_settings


@pytest.fixture
def resend() -> Iterator[Running[ResendStandin]]:
    with start_resend() as running:
        yield running


def _mailer(resend: Running[ResendStandin]) -> Mailer:
    return Mailer(
        ResendSettings(api_key=resend.standin.api_key, sender="Reggie <n@reggie.test>", api_url=resend.base_url)
    )


def _queue(engine: Engine, *, email: str | None, count: int = 1) -> list[int]:
    """``count`` emails to a new user with ``email``; their outbox ids."""
    with Session(engine) as session, session.begin():
        user_id = session.execute(
            text("INSERT INTO users (clerk_user_id, email) VALUES (:c, :e) RETURNING id"),
            {"c": f"user_outbox_{uuid.uuid4().hex[:10]}", "e": email},
        ).scalar_one()
        for n in range(count):
            notify(
                session, EmailKind.OFFER_DECLINED, user_id=user_id, registration=f"AB{n} C", amount="£5", reason="test"
            )
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT id FROM email_outbox WHERE user_id = :u ORDER BY id"), {"u": user_id}).scalars()
        )


def _row(engine: Engine, email_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM email_outbox WHERE id = :id"), {"id": email_id}).one()


def _due_now(engine: Engine, email_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE email_outbox SET next_attempt_at = now() WHERE id = :id"), {"id": email_id})


def _drain(engine: Engine, mailer: Any) -> None:
    """Send everything due (other tests' rows included) so each test starts from its own."""
    send_due(engine, mailer, limit=10_000)


def test_resend_down_is_retried_with_backoff_under_one_key(db_engine: Engine, resend: Running[ResendStandin]) -> None:
    mailer = _mailer(resend)
    _drain(db_engine, mailer)
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    [email_id] = _queue(db_engine, email=address)
    before = len(resend.standin.requests)
    resend.standin.fail_next(500, times=2)  # two attempts meet Resend down
    first = send_due(db_engine, mailer)
    assert (first.sent, first.retrying) == (0, 1)
    row = _row(db_engine, email_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)  # not due again for a minute
    assert send_due(db_engine, mailer).sent == 0
    _due_now(db_engine, email_id)
    assert send_due(db_engine, mailer).retrying == 1
    assert _row(db_engine, email_id).attempts == 2
    _due_now(db_engine, email_id)
    sent = send_due(db_engine, mailer)
    assert sent.sent == 1
    row = _row(db_engine, email_id)
    assert (row.status, row.attempts) == ("sent", 3)
    assert row.provider_id
    delivered = resend.standin.emails_to(address)
    assert len(delivered) == 1
    assert delivered[0]["idempotency_key"] == f"outbox-{row.idempotency_key}"
    attempts = [r for r in resend.standin.requests[before:] if r.method == "POST"]
    assert [r.status for r in attempts] == [500, 500, 200]
    assert {r.headers.get("idempotency-key") for r in attempts} == {f"outbox-{row.idempotency_key}"}
    assert [retry_delay(n) for n in (1, 2, 3, 8)] == [timedelta(minutes=m) for m in (1, 2, 4, 60)]


def test_a_crash_after_resend_accepted_does_not_send_twice(db_engine: Engine, resend: Running[ResendStandin]) -> None:
    mailer = _mailer(resend)
    _drain(db_engine, mailer)
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    [email_id] = _queue(db_engine, email=address)

    class CrashAfterSending:
        def send_email(self, **kwargs: Any) -> str:
            mailer.send_email(**kwargs)
            raise SystemExit("the process died before committing")

    with pytest.raises(SystemExit):
        send_due(db_engine, CrashAfterSending())
    assert _row(db_engine, email_id).status == "pending"  # the transaction never committed
    assert send_due(db_engine, mailer).sent == 1
    assert len(resend.standin.emails_to(address)) == 1  # Resend answered the retry with the same email


def test_refused_and_addressless_emails(db_engine: Engine, resend: Running[ResendStandin]) -> None:
    mailer = _mailer(resend)
    _drain(db_engine, mailer)
    [refused] = _queue(db_engine, email="not an address")
    assert send_due(db_engine, mailer).failed == 1
    row = _row(db_engine, refused)
    assert row.status == "failed"
    assert "422" in row.last_error
    [nowhere] = _queue(db_engine, email=None)
    for _ in range(MAX_ATTEMPTS):
        _due_now(db_engine, nowhere)
        send_due(db_engine, mailer)
    row = _row(db_engine, nowhere)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "no email address" in row.last_error


def test_concurrent_senders_send_each_email_once(db_engine: Engine, resend: Running[ResendStandin]) -> None:
    mailer = _mailer(resend)
    _drain(db_engine, mailer)
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    ids = _queue(db_engine, email=address, count=12)
    resend.standin.processing_delay_s = 0.02
    start = threading.Barrier(4)

    def sender() -> None:
        start.wait()
        send_due(db_engine, mailer)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(resend.standin.emails_to(address)) == len(ids)
    assert {_row(db_engine, i).status for i in ids} == {"sent"}


def test_worker_settings_read_the_key_from_ssm_or_the_environment() -> None:
    asked: list[str] = []

    def parameter(name: str) -> str:
        asked.append(name)
        return "re_from_ssm"

    deployed = resend_settings({"RESEND_API_KEY_PARAMETER": "/reggie/staging/resend_api_key"}, read_parameter=parameter)
    assert (deployed.api_key, asked) == ("re_from_ssm", ["/reggie/staging/resend_api_key"])
    assert deployed.api_url == "https://api.resend.com"
    local = resend_settings({"RESEND_API_KEY": "re_local", "RESEND_API_URL": "http://127.0.0.1:9"})
    assert (local.api_key, local.api_url) == ("re_local", "http://127.0.0.1:9")
    with pytest.raises(SettingsError, match="RESEND_API_KEY_PARAMETER"):
        resend_settings({})
    with pytest.raises(SettingsError, match="RESEND_API_URL"):
        resend_settings({"RESEND_API_KEY": "re_x", "RESEND_API_URL": "http://resend.example.com"})
    with pytest.raises(SettingsError, match="EMAIL_SENDER"):
        resend_settings({"RESEND_API_KEY": "re_x", "EMAIL_SENDER": "nobody"})
