"""``python -m services.valuation.training predict IN.csv OUT.csv``: value every row of a CSV.

The input needs a ``registration`` column (other columns pass through). The output adds
``predicted_price``, ``low``, ``high`` and ``error``: an invalid mark gets its reason in ``error``
and empty prices, never a crash.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from services.valuation.service import value_many

ADDED = ("predicted_price", "low", "high", "error")
BATCH = 5000


def predict_csv(source: Path, target: Path) -> int:
    """Write the valued rows; returns a process exit code (2 when the input is unusable)."""
    try:
        with source.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"cannot read {source}: {exc}", file=sys.stderr)
        return 2
    if "registration" not in fields:
        print(f"{source} has no 'registration' column (columns: {', '.join(fields) or 'none'})", file=sys.stderr)
        return 2
    out_fields = fields + [c for c in ADDED if c not in fields]
    errors = 0
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=out_fields, extrasaction="ignore")
        writer.writeheader()
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            for row, answer in zip(chunk, value_many([r["registration"] or "" for r in chunk]), strict=True):
                if "error" in answer:
                    errors += 1
                    row.update(predicted_price="", low="", high="", error=answer["error"]["message"])
                else:
                    row.update(predicted_price=answer["price"], low=answer["low"], high=answer["high"], error="")
                writer.writerow(row)
    print(f"valued {len(rows) - errors} of {len(rows)} rows into {target} ({errors} invalid)", file=sys.stderr)
    return 0
