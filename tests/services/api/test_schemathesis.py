"""Property-based run over the app's own OpenAPI document (schemathesis): generated requests to
every operation, signed in as an administrator so guarded routes run their logic too. No response
may be a 5xx, and every response must match the status codes, content types and schemas the
document declares. Bounded examples per operation keep the run to seconds.

(Schemathesis' pytest plugin does not load under pytest 9, so the operations are driven here with
Hypothesis directly: one ``@given`` per operation over ``operation.as_strategy()``.)"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.services.api.support import Signer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 12


@pytest.mark.slow
def test_no_5xx_and_responses_match_the_schema(api_url: str, signer: Signer) -> None:
    schema = schemathesis.openapi.from_url(api_url + "/api/v1/schema/openapi.json")
    headers = {"Authorization": f"Bearer {signer.mint(sub='user_schemathesis', role='admin', ttl_s=3600)}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # pyright: ignore[reportAttributeAccessIssue]
    assert len(operations) >= 20
    failures: dict[str, str] = {}
    calls = 0
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),  # pyright: ignore[reportArgumentType]
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert calls >= len(operations) * 5
