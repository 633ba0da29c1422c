"""``python -m services.scraper FILE [FILE...] [--auction ID]``: import results files into the database.

Uses the database the settings point at (``DATABASE_URL`` locally). Prints one line per file and
every bad line; exits 1 when a file could not be read at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.core.db import get_engine
from services.scraper.importer import import_file
from services.scraper.rows import ResultsFileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.scraper", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--auction", help="auction id (Excel) or id prefix (CSV); default: from the file name")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            report = import_file(get_engine(), path, auction=args.auction)
        except (OSError, ResultsFileError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{path}: {report.lots_read} lots in {len(report.auctions)} auction(s), {report.inserted} new, "
            f"{report.already_present} already present, {len(report.problems)} bad rows skipped"
        )
        for problem in report.problems:
            print(f"  {path}:{problem}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
