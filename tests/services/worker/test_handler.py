"""The worker's Lambda entry point in a fresh interpreter, as the schedule invokes it: one run that
lapses and sends, and a misconfigured sender reported without stopping the lapse half."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from services.core.schema import REPO_ROOT
from services.local.standins.resend import start_resend

_INVOKE = (
    "import json; from services.worker.handler import handler\n"
    "class Context:\n    def get_remaining_time_in_millis(self): return 60000\n"
    "print(json.dumps(handler({'source': 'aws.events'}, Context())))"
)


def _invoke(env: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RESEND_", "DATABASE_URL", "STAGE"))}
    out = subprocess.run(
        [sys.executable, "-c", _INVOKE], cwd=REPO_ROOT, env=clean | env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_scheduled_run_lapses_and_sends(migrated_database_url: str) -> None:
    base = {"STAGE": "ci", "SERVICE_NAME": "worker", "DATABASE_URL": migrated_database_url}
    with start_resend() as resend:
        answer = _invoke(base | {"RESEND_API_KEY": resend.standin.api_key, "RESEND_API_URL": resend.base_url})
    assert set(answer) == {"lapse", "emails"}
    assert "error" not in answer["lapse"]
    assert "error" not in answer["emails"]
    unconfigured = _invoke(base)
    assert "error" not in unconfigured["lapse"]
    assert unconfigured["emails"] == {"error": "email sending is not configured"}
