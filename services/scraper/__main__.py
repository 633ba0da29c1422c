"""The scraper's command line.

``python -m services.scraper import FILE [FILE...] [--event ID | --auction PREFIX]``
    Import results files (the auctioneer's Excel export or the shared CSV, told apart by content).
    With ``--event`` the file is that event's results, recorded on the event as the scheduled run
    records it; otherwise auction ids come from the file's sale dates or the auctions' places in
    it (see :mod:`services.core.dvla_results`), so ``make dev`` and this command agree.
``python -m services.scraper fetch [EVENT_ID...]``
    The scheduled run, here: fetch every due event (or just these) and import what changed.
``python -m services.scraper add EVENT_ID [EVENT_ID...]``
    Make events known, so the next run fetches them.

The database is ``--database-url`` or ``DATABASE_URL``. Prints one line per file or event and every
bad row and conflict; exits 1 when a file could not be read at all or an event failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.auction_events import InvalidEventId, check_event_id, register_event
from services.core.dvla_results import ResultsFileError
from services.core.settings import SettingsError
from services.scraper.importer import ImportReport


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.scraper", description="DVLA auction results import")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="default: DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    imports = commands.add_parser("import", help="import results files")
    imports.add_argument("files", nargs="+", type=Path)
    identity = imports.add_mutually_exclusive_group()
    identity.add_argument("--event", type=_event_id, help="the file is this auction event's results")
    identity.add_argument("--auction", help="auction ids <AUCTION>-1, <AUCTION>-2... instead of dates or places")
    fetch = commands.add_parser("fetch", help="fetch and import the due events (or these)")
    fetch.add_argument("events", nargs="*", type=_event_id)
    add = commands.add_parser("add", help="register auction events for the next run")
    add.add_argument("events", nargs="+", type=_event_id)
    for sub in (imports, fetch, add):  # accepted after the command too
        sub.add_argument("--database-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _event_id(text: str) -> str:
    try:
        return check_event_id(text)
    except InvalidEventId as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM ends quietly, like Ctrl-C
    try:
        engine = _engine(args.database_url)
        try:
            return _run(engine, args)
        finally:
            engine.dispose()
    except KeyboardInterrupt:
        return 130
    except SettingsError as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a database that cannot be reached, say: one line, no traceback
        print(f"scraper: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1


def _engine(url: str) -> Engine:
    from services.core.db import build_engine  # noqa: PLC0415 - after the arguments are known good
    from services.core.settings import load_settings  # noqa: PLC0415

    settings = load_settings({"STAGE": "local", "SERVICE_NAME": "scraper", "DATABASE_URL": url})
    database = settings.database
    if database is None or database.url is None:  # load_settings refuses a bad DATABASE_URL before this
        raise SettingsError("DATABASE_URL: not a PostgreSQL URL")
    return build_engine(database.url, on_lambda=False, application_name="scraper")


def _run(engine: Engine, args: argparse.Namespace) -> int:
    if args.command == "add":
        with Session(engine) as session, session.begin():
            for event_id in args.events:
                event, created = register_event(session, event_id)
                print(f"event {event_id}: {'added' if created else 'already known'}, {event.status}")
        return 0
    if args.command == "fetch":
        from services.scraper.events import run_due_events  # noqa: PLC0415
        from services.scraper.settings import load_scraper_settings  # noqa: PLC0415

        run = run_due_events(engine, load_scraper_settings(), only=tuple(args.events))
        for outcome in run.events:
            print(f"event {outcome.event_id}: {outcome.result}: {outcome.message}", flush=True)
            if outcome.report is not None:
                _print_lines(f"event {outcome.event_id}", outcome.report)
        return 1 if any(o.result == "failed" for o in run.events) else 0
    return _import(engine, args)


def _import(engine: Engine, args: argparse.Namespace) -> int:
    from services.scraper.events import import_event_file  # noqa: PLC0415
    from services.scraper.importer import import_file  # noqa: PLC0415

    if args.event is not None and len(args.files) != 1:
        print("scraper: --event takes exactly one file (one event's results)", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            if args.event is not None:
                outcome = import_event_file(engine, args.event, _read(path))
                print(f"{path.name}: event {args.event}: {outcome.result}: {outcome.message}", flush=True)
                status = 1 if outcome.result == "failed" else status
                if outcome.report is not None:
                    _print_lines(path.name, outcome.report)
                continue
            report = import_file(engine, path, prefix=args.auction)
        except (OSError, ResultsFileError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        _print_summary(path.name, report)
    return status


def _read(path: Path) -> bytes:
    from services.core.dvla_results import MAX_FILE_BYTES  # noqa: PLC0415

    if path.stat().st_size > MAX_FILE_BYTES:
        raise ResultsFileError(f"the file is larger than the {MAX_FILE_BYTES // 2**20} MB allowed")
    return path.read_bytes()


def _print_summary(name: str, report: ImportReport) -> None:
    # The local stack waits for these exact phrases ("sales: imported", "already imported").
    if report.inserted or report.updated:
        line = f"sales: imported {report.inserted} of {report.lots_read} auction lots from {name}"
        line += f" ({report.updated} updated)" if report.updated else ""
    else:
        line = f"sales: {report.lots_read} auction lots already imported"
    auctions = len(report.auctions)
    print(f"{line}; {auctions} auction(s), {report.problem_count} bad rows, {report.conflict_count} conflicts")
    if report.stale_valuations:
        print(f"  {report.stale_valuations} cached valuations marked stale", flush=True)
    _print_lines(name, report)


def _print_lines(name: str, report: ImportReport) -> None:
    for line in report.lines():
        print(f"  {name}: {line}", file=sys.stderr)
    if report.stopped:
        print(f"  {name}: {report.stopped}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
