"""Run in a fresh process: import the Lambda handler, feed it the events read from stdin (a JSON
list), print the responses (a JSON list). Environment as on Lambda (``AWS_LAMBDA_FUNCTION_NAME``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.services.api.apigw_events import LambdaContext


def main() -> None:
    events = json.load(sys.stdin)
    from services.api.handler import handler

    context: Any = LambdaContext()
    responses = [handler(event, context) for event in events]
    json.dump(responses, sys.stdout)


if __name__ == "__main__":
    main()
