"""Importing one 2,500-lot auction event, as the scheduled scraper does (goal: under 5 s here).

Run: ``.venv/bin/python bench/bench_scraper_import.py``. Starts an embedded PostgreSQL, migrates it,
caches 20,000 valuations (so the import's stale-valuation pass has real work), builds the event's
Excel export in memory in the auctioneer's layout from the newest auction of the shared results
(``../shared/data``, read from there; 2,500 lots) and imports it through
:func:`services.scraper.events.import_event_file`: read, write to ``sales``, mark comparable
valuations stale, record the event. Then the same file again (its hash matches: nothing to do),
and a re-published copy with one corrected price (every lot compared, one updated). Median of 3.
"""

from __future__ import annotations

import csv
import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import create_engine, delete, text  # noqa: E402

from bench.embedded_db import migrated_database  # noqa: E402
from services.core.dvla_results import read_results  # noqa: E402
from services.core.models import AuctionEvent, Sale  # noqa: E402
from services.core.registration import InvalidRegistration, parse  # noqa: E402
from services.scraper.events import import_event_file  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "dvla-auctions-2021-2024" / "combined_auction_results.csv"
LOTS = 2_500
CACHED_VALUATIONS = 20_000
RUNS = 3


def _shared_rows() -> list[dict[str, str]]:
    with DATA.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _newest_auction(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    starts = [i for i, row in enumerate(rows) if row["lot_no"].strip("[] ") == "1"]
    return rows[starts[-1] :][:LOTS]


def _excel(rows: list[dict[str, str]], corrected_price: int | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["", "lot_no", "reg", "starting_price", "current_price", "length", "category", "end_time"])
    end = datetime(2024, 3, 14, 15)
    for index, row in enumerate(rows):
        price = corrected_price if corrected_price is not None and index == 0 else int(row["current_price"])
        lot = int(row["lot_no"].strip("[] "))
        sheet.append([index, lot, row["reg"], int(row["starting_price"]), price, len(row["reg"]), row["category"], end])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _valid_marks(rows: list[dict[str, str]], count: int) -> list[str]:
    marks: dict[str, None] = {}
    for row in rows:
        try:
            marks[parse(row["reg"]).normalized] = None
        except InvalidRegistration:
            continue
        if len(marks) >= count:
            break
    return list(marks)


def _median(run: Callable[[], object], before: Callable[[], object] = lambda: None) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(RUNS):
        before()
        start = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), result


def main() -> None:
    if not DATA.is_file():
        raise SystemExit(f"the shared results are not at {DATA}")
    shared = _shared_rows()
    event_rows = _newest_auction(shared)
    first = _excel(event_rows)
    republished = _excel(event_rows, corrected_price=123_456)
    with migrated_database("bench-scraper-") as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence) "
                    "SELECT mark, 'bench', 1, 1, 1 FROM unnest(CAST(:marks AS text[])) AS mark"
                ),
                {"marks": _valid_marks(shared, CACHED_VALUATIONS)},
            )

        def reset() -> None:
            with engine.begin() as connection:
                connection.execute(delete(AuctionEvent))
                connection.execute(delete(Sale))
                connection.execute(text("UPDATE valuations SET comparable_sale_at = NULL"))

        read_s, records = _median(lambda: list(read_results(first, event_id="1")))
        import_s, outcome = _median(lambda: import_event_file(engine, "1", first), before=reset)
        unchanged_s, unchanged = _median(lambda: import_event_file(engine, "1", first))
        republished_s, again = _median(
            lambda: import_event_file(engine, "1", republished),
            before=lambda: import_event_file(engine, "1", first),
        )
        engine.dispose()

    report = getattr(outcome, "report", None)
    size = f"{len(first) / 1024:.0f} KB"
    print(f"event file: {len(event_rows):,} lots, {size} xlsx; {CACHED_VALUATIONS:,} cached valuations")
    print(f"read only (openpyxl + parsing, {len(records):,} records): {read_s:.2f} s")  # type: ignore[arg-type]
    print(f"import, new event (read, write, stale pass, event row): {import_s:.2f} s (goal < 5 s)")
    if report is not None:
        print(
            f"  inserted {report.inserted:,}, bad rows {report.problem_count}, "
            f"stale valuations marked {report.stale_valuations:,}"
        )
    print(f"same file again (hash matches): {unchanged_s * 1000:.0f} ms, {getattr(unchanged, 'result', '?')}")
    again_report = getattr(again, "report", None)
    updated = again_report.updated if again_report is not None else "?"
    print(f"re-published with one corrected price: {republished_s:.2f} s, {updated} updated")


if __name__ == "__main__":
    main()
