"""The parts the API is wired from: domain errors rendered once (a 503 never carries its reason),
the database's refusals recognised on either path, and values built once on first use."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest
from litestar import Request
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError

from services.api.database import as_domain_error
from services.api.errors import Conflict, DomainError, Forbidden, Invalid, Malformed, NotFound, Unavailable
from services.api.http_errors import render, status_of, unexpected_error_handler
from services.api.lazy import Lazy
from services.api.reads import DatabaseUnavailable, conninfo_from_sqlalchemy_url
from tests.servers import free_port


def _body(error: DomainError) -> dict[str, object]:
    response = render({"reggie.request_id": "req-1"}, error)  # type: ignore[arg-type] - a scope holding an id
    return {"status_code": response.status_code, **json.loads(response.render(response.content, "application/json"))}


def test_each_kind_has_one_status_and_the_error_shape() -> None:
    kinds = {Malformed: 400, Forbidden: 403, NotFound: 404, Conflict: 409, Invalid: 422, Unavailable: 503}
    for kind, status in kinds.items():
        body = _body(kind("Something is off.", code="some_code", details={"k": 1}))
        assert body == {"status_code": status, "status": status, "code": "some_code",
                        "message": "Something is off.", "details": {"k": 1}, "request_id": "req-1"}  # fmt: skip
    assert status_of(DatabaseUnavailable) == 503
    assert _body(NotFound("The offer was not found."))["code"] == "not_found"


def test_an_outage_answers_its_own_words_never_the_reason() -> None:
    outage = DatabaseUnavailable(reason="connection to 10.0.3.7:5432 refused: password authentication failed")
    body = _body(outage)
    assert body["code"] == "database_unavailable"
    assert body["message"] == "The database is not answering right now."
    assert "10.0.3.7" not in json.dumps(body)
    assert "password" in str(outage)  # kept for the log


def test_database_refusals_are_recognised_from_psycopg_and_sqlalchemy(postgres_url: str, engine: Engine) -> None:
    conninfo = conninfo_from_sqlalchemy_url(postgres_url)
    with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.DataError) as refused:
        conn.execute("SELECT CAST('not a number' AS integer)")
    assert isinstance(as_domain_error(refused.value), Malformed)
    with pytest.raises(psycopg.OperationalError) as unreachable:
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", connect_timeout=2)
    assert isinstance(as_domain_error(unreachable.value), DatabaseUnavailable)

    with engine.connect() as conn, pytest.raises(DataError) as wrapped:
        conn.execute(text("SELECT CAST('not a number' AS integer)"))
    error = as_domain_error(wrapped.value)
    assert isinstance(error, Malformed)
    assert error.code == "invalid_data"
    assert isinstance(as_domain_error(OperationalError("SELECT 1", {}, unreachable.value)), DatabaseUnavailable)
    assert as_domain_error(ValueError("a bug")) is None

    # The code ahead of the schema (a migration not run yet): a 503 that says so, on either path.
    for sql in ("SELECT * FROM no_such_table", "SELECT no_such_column FROM pg_class", "SELECT no_such_fn()"):
        with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.ProgrammingError) as behind:
            conn.execute(sql)
        error = as_domain_error(behind.value)
        assert isinstance(error, Unavailable)
        assert error.code == "schema_behind"
        assert status_of(type(error)) == 503
    with engine.connect() as conn, pytest.raises(ProgrammingError) as wrapped_behind:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert getattr(as_domain_error(wrapped_behind.value), "code", None) == "schema_behind"
    with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.errors.SyntaxError) as bug:
        conn.execute("SELEC 1")
    assert as_domain_error(bug.value) is None  # our own SQL being wrong stays a bug, a 500


def test_lazy_builds_once_across_threads_and_retries_a_failure() -> None:
    builds: list[int] = []

    def build() -> int:
        time.sleep(0.02)  # long enough for every thread to arrive while the first builds
        builds.append(1)
        return len(builds)

    value = Lazy(build)
    assert not value.built
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(value())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 8
    assert builds == [1]

    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("down")
        return "up"

    recovering = Lazy(flaky)
    with pytest.raises(ConnectionError):
        recovering()
    assert recovering() == "up"
    assert recovering() == "up"
    assert len(attempts) == 2


def test_a_bug_answers_a_500_with_its_request_id_and_logs_the_text(caplog: pytest.LogCaptureFixture) -> None:
    """What escapes a handler as a bug: the body has a code and the request id, never the exception's text;
    the log line has both, so the person quoting the id can be found."""
    scope = {"type": "http", "method": "GET", "path": "/api/v1/plates", "raw_path": b"/api/v1/plates",
             "query_string": b"", "headers": [], "app": None, "route_handler": None}  # fmt: skip
    request = Request(scope)  # type: ignore[arg-type] - the parts of a scope the handler reads
    with caplog.at_level("ERROR", logger="reggie.api"):
        response = unexpected_error_handler(request, KeyError("secret column value 'hunter2'"))
    body = json.loads(response.render(response.content, "application/json"))
    assert response.status_code == 500
    assert set(body) == {"status", "code", "message", "details", "request_id"}
    assert body["code"] == "internal_error"
    assert "hunter2" not in json.dumps(body)
    assert len(body["request_id"]) == 16
    (record,) = caplog.records
    assert body["request_id"] in record.getMessage()
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])
