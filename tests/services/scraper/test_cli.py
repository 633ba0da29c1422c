"""``python -m services.scraper``, run as ``make dev`` runs it (a child process), on real PostgreSQL:
the same file gets the same auction ids whichever way it is imported, so no lot is stored twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select

from services.core.models import Sale
from services.scraper.events import run_due_events
from services.scraper.importer import import_file
from tests.services.scraper.auctioneer import Auctioneer, file_reply
from tests.services.scraper.results_files import csv_bytes, csv_line, excel_bytes, lots

REPO = Path(__file__).resolve().parents[3]


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.scraper", "--database-url", url, *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def _count(engine: Engine, pattern: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Sale).where(Sale.auction_id.like(pattern))
        ).scalar_one()


def test_make_dev_and_the_command_line_agree_on_auction_ids(
    engine: Engine, migrated_database_url: str, tmp_path: Path
) -> None:
    combined = tmp_path / "combined_auction_results.csv"
    lines = [csv_line(0, 1, "AA54 NDS"), csv_line(1, 2, "479 AAV", 800, 0), csv_line(2, 1, "1 A"), "3,3,[x],A1,1,1,2,"]
    combined.write_bytes(csv_bytes(lines))
    first = _cli(migrated_database_url, "import", str(combined))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("sales: imported 3 of 3 auction lots from combined_auction_results.csv;")
    assert "combined_auction_results.csv: line 5: lot number '[x]' is not a positive whole number" in first.stderr
    # The same file under another name, in this process: the same ids, nothing new.
    renamed = tmp_path / "another name.csv"
    renamed.write_bytes(combined.read_bytes())
    again = import_file(engine, renamed)
    assert [a.id for a in again.auctions] == ["dvla-csv-1", "dvla-csv-2"]
    assert (again.inserted, again.unchanged) == (0, 3)
    second = _cli(migrated_database_url, "import", str(renamed))
    assert second.stdout.startswith("sales: 3 auction lots already imported;")
    assert _count(engine, "dvla-csv-%") == 3

    export = tmp_path / "Results.xlsx"
    export.write_bytes(excel_bytes(lots(["AB12 CDE", "S1 MON"])))
    dated = _cli(migrated_database_url, "import", str(export))
    assert dated.returncode == 0, dated.stderr
    assert import_file(engine, export).auctions[0].id == "dvla-2024-03-14"
    assert _count(engine, "dvla-2024-03-14") == 2


def test_a_downloaded_event_file_and_the_scheduled_fetch_are_one_import(
    engine: Engine, migrated_database_url: str, tmp_path: Path, auctioneer: Auctioneer
) -> None:
    body = excel_bytes(lots(["AB12 CDE", "1 A"]))
    path = tmp_path / "DownloadExcel.xlsx"
    path.write_bytes(body)
    by_hand = _cli(migrated_database_url, "import", "--event", "801", str(path))
    assert by_hand.returncode == 0, by_hand.stderr
    assert "event 801: imported: 2 new" in by_hand.stdout
    auctioneer.replies["801"] = file_reply(body)
    run = run_due_events(engine, auctioneer.settings())
    assert [(e.event_id, e.result) for e in run.events] == [("801", "unchanged")]
    assert _count(engine, "dvla-event-801") == 2


def test_bad_usage_and_unreadable_files_exit_non_zero(migrated_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(b"nothing,useful\n")
    unreadable = _cli(migrated_database_url, "import", str(tmp_path / "x.csv"))
    assert unreadable.returncode == 1
    assert "no header row" in unreadable.stderr
    assert _cli(migrated_database_url, "import", "--event", "a/b", "f.xlsx").returncode == 2
    added = _cli(migrated_database_url, "add", "901")
    assert added.stdout.strip() == "event 901: added, pending"
    unreachable = _cli("postgresql://nobody@127.0.0.1:1/none", "add", "902")
    assert unreachable.returncode == 1
    assert "Traceback" not in unreachable.stderr
