"""The Resend client against the Resend stand-in: what it sends, idempotency, and which failures are retryable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.core.external.email import Mailer, ResendSettings
from services.core.external.errors import EmailRejected, EmailUnavailable
from services.local.standins.resend import ResendStandin, start_resend
from services.local.standins.server import Running

SENDER = "Reggie <noreply@reggie.test>"
EMAIL: dict[str, Any] = {
    "to": "seller@example.com",
    "subject": "You have an offer on AB12 CDE",
    "html": "<p>Someone offered £1,500.</p>",
    "text": "Someone offered £1,500.",
    "idempotency_key": "outbox-1",
}


def mailer(running: Running[ResendStandin], **settings: Any) -> Mailer:
    options: dict[str, Any] = {"api_key": running.standin.api_key, "sender": SENDER, "api_url": running.base_url}
    return Mailer(ResendSettings(**{**options, **settings}))


def test_an_email_goes_out_from_the_configured_sender(resend_api: Running[ResendStandin]) -> None:
    email_id = mailer(resend_api).send_email(**EMAIL, reply_to="help@reggie.test", tags={"kind": "offer_received"})
    (sent,) = resend_api.standin.emails
    assert sent["id"] == email_id
    assert (sent["from"], sent["to"], sent["subject"]) == (SENDER, ["seller@example.com"], EMAIL["subject"])
    assert (sent["html"], sent["text"], sent["reply_to"]) == (EMAIL["html"], EMAIL["text"], ["help@reggie.test"])
    assert sent["tags"] == [{"name": "kind", "value": "offer_received"}]
    assert resend_api.standin.requests[0].headers["idempotency-key"] == "outbox-1"


def test_a_resent_email_with_its_key_is_not_sent_twice(resend_api: Running[ResendStandin]) -> None:
    client = mailer(resend_api)
    assert client.send_email(**EMAIL) == client.send_email(**EMAIL)
    assert len(resend_api.standin.emails) == 1


def test_emails_resend_refuses_are_rejected_for_good(resend_api: Running[ResendStandin]) -> None:
    client = mailer(resend_api)
    with pytest.raises(EmailRejected) as bad_address:
        client.send_email(**{**EMAIL, "to": "not an address"})
    assert (bad_address.value.status, bad_address.value.code) == (422, "validation_error")
    client.send_email(**EMAIL)
    with pytest.raises(EmailRejected) as reused:
        client.send_email(**{**EMAIL, "subject": "Another email under the same key"})
    assert (reused.value.status, reused.value.code) == (409, "invalid_idempotent_request")
    assert len(resend_api.standin.emails) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(500, "application_error"), (503, "application_error"), (429, "rate_limit_exceeded")]
)
def test_resend_failing_is_unavailable(resend_api: Running[ResendStandin], status: int, code: str) -> None:
    resend_api.standin.fail_next(status)
    with pytest.raises(EmailUnavailable) as caught:
        mailer(resend_api).send_email(**EMAIL)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert mailer(resend_api).send_email(**EMAIL)  # the retry goes through


def test_a_refused_key_is_unavailable_so_the_email_is_kept(resend_api: Running[ResendStandin]) -> None:
    with pytest.raises(EmailUnavailable) as caught:
        mailer(resend_api, api_key="re_someone_elses").send_email(**EMAIL)
    assert caught.value.status == 401
    assert "re_someone_elses" not in caught.value.message


def test_a_slow_or_absent_resend_is_unavailable(resend_api: Running[ResendStandin]) -> None:
    resend_api.standin.delay_next(1.0)
    with pytest.raises(EmailUnavailable) as slow:
        mailer(resend_api, timeout_s=0.2).send_email(**EMAIL)
    assert slow.value.code == "HttpClientError"
    base = resend_api.base_url
    resend_api.stop()
    with pytest.raises(EmailUnavailable):
        Mailer(ResendSettings(api_key="re_x", sender=SENDER, api_url=base)).send_email(**EMAIL)


def test_two_mailers_never_send_with_each_others_settings() -> None:
    with start_resend(api_key="re_first") as first, start_resend(api_key="re_second") as second:
        one, two = mailer(first), mailer(second)
        one.send_email(**EMAIL)
        two.send_email(**{**EMAIL, "idempotency_key": "outbox-2"})
        one.send_email(**{**EMAIL, "idempotency_key": "outbox-3"})
        assert [e["idempotency_key"] for e in first.standin.emails] == ["outbox-1", "outbox-3"]
        assert [e["idempotency_key"] for e in second.standin.emails] == ["outbox-2"]


@pytest.mark.parametrize(
    ("change", "message"), [({"idempotency_key": ""}, "idempotency_key"), ({"to": []}, "recipient")]
)
def test_bad_arguments_are_refused_before_any_request(
    resend_api: Running[ResendStandin], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mailer(resend_api).send_email(**{**EMAIL, **change})
    assert resend_api.standin.requests == []


@pytest.mark.parametrize(
    "settings",
    [
        {"api_key": "sk_wrong", "sender": SENDER},
        {"api_key": "re_x", "sender": "Reggie"},
        {"api_key": "re_x", "sender": SENDER, "api_url": "api.resend.com"},
        {"api_key": "re_x", "sender": SENDER, "timeout_s": -1},
    ],
)
def test_settings_are_checked(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="resend"):
        ResendSettings(**settings)


def test_importing_the_client_does_not_import_resend() -> None:
    code = "import sys; import services.core.external.email; assert 'resend' not in sys.modules, 'resend imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[4])
