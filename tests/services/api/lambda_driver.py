"""Run in a fresh process: import the Lambda handler, feed it the events read from stdin, print what
came back. Environment as on Lambda (``AWS_LAMBDA_FUNCTION_NAME``).

Input: a JSON list of phases, each a list of events. Output: one entry per phase, its responses and
which of :data:`WATCHED` libraries the process had imported once the phase was served (so a test can
say what a path loads), as the last line of standard output; what the handler printed comes before it."""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.services.api.apigw_events import LambdaContext

WATCHED = ("sqlalchemy", "botocore", "boto3", "jwt", "cryptography", "numpy")


def loaded() -> list[str]:
    return [name for name in WATCHED if name in sys.modules]


def main() -> None:
    phases = json.load(sys.stdin)
    before_import = loaded()
    from services.api.handler import handler

    context: Any = LambdaContext()
    report: list[dict[str, Any]] = [{"responses": [], "loaded": loaded(), "before_import": before_import}]
    for events in phases:
        report.append({"responses": [handler(event, context) for event in events], "loaded": loaded()})
    sys.stdout.write("\n" + json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
