"""What verifying a webhook with the official library costs the webhook path, in import time.

The webhook path already loads Litestar, msgspec, psycopg, SQLAlchemy (the first write), Mangum and
anyio. Each row is the median of 7 fresh interpreters of the time to import the verifier on top of
those: our HMAC (``hmac``/``hashlib``), the ``stripe`` library's ``WebhookSignature`` and the
``svix`` library's ``Webhook``. ``services/api/webhooks/signatures.py`` records what was decided.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

BASE = "import litestar, msgspec, psycopg, sqlalchemy.orm, mangum, anyio"
RUNS = 7
VERIFIERS = {
    "ours (hmac, hashlib)": "import hmac, hashlib",
    "stripe.WebhookSignature": "from stripe import WebhookSignature",
    "svix.webhooks.Webhook": "from svix.webhooks import Webhook",
}


def marginal_ms(statement: str) -> list[float]:
    code = f"{BASE}\nimport time\nt = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"
    return [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(RUNS)]


def main() -> None:
    print(f"import time on top of the webhook path's own imports, median of {RUNS} fresh interpreters")
    for name, statement in VERIFIERS.items():
        times = marginal_ms(statement)
        print(f"  {name:26s} {statistics.median(times):7.1f} ms  (range {min(times):.1f}-{max(times):.1f})")


if __name__ == "__main__":
    main()
