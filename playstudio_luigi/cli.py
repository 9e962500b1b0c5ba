"""The ``playstudio-luigi`` command: parses arguments and prints; the work is the library's."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from playstudio_luigi import config
from playstudio_luigi.datadocs import build_site
from playstudio_luigi.datadocs.collect import loaded_range
from playstudio_luigi.db.connection import (
    DatabaseUnavailableError,
    NoWarehouseError,
    connect,
    transaction,
    without_password,
)
from playstudio_luigi.db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from playstudio_luigi.db.migrations import WarehouseTooNewError
from playstudio_luigi.db.roles import create_roles
from playstudio_luigi.intervals import utcnow
from playstudio_luigi.operations.backfill import EmptyRangeError, run_backfill, run_demo
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.operations.reconcile import reconcile
from playstudio_luigi.reports.checks_report import check_report
from playstudio_luigi.reports.status import coverage_status
from playstudio_luigi.reports.summary import gold_summary
from playstudio_luigi.tasks.parameters import IntervalFormatError, parse_moment
from playstudio_luigi.testing import sample as sample_module


def parse_hour(text: str) -> datetime:
    """``2022-04-01T22`` (or a day, or a minute) as a naive UTC datetime, strictly
    (:func:`~playstudio_luigi.tasks.parameters.parse_moment`)."""
    try:
        return parse_moment(text)
    except IntervalFormatError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class UsageError(ValueError):
    """Arguments that parse but make no sense together; one line, exit status 2."""


def ordered(start: datetime, stop: datetime) -> tuple[datetime, datetime]:
    """``(start, stop)`` of a half-open range ``[start, stop)``; a reversed or empty one is a
    :class:`UsageError` (it would silently do nothing, or report on nothing)."""
    if stop <= start:
        raise UsageError(
            f"--stop {stop:%Y-%m-%dT%H} is not after --start {start:%Y-%m-%dT%H}: "
            "the range is [start, stop)"
        )
    return start, stop


def _cmd_backfill(args: argparse.Namespace) -> int:
    try:
        ok = run_backfill(
            args.start,
            args.stop,
            workers=args.workers,
            scheduler_host=args.scheduler_host,
            scheduler_port=args.scheduler_port,
            log_level=args.log_level,
            full_refresh=args.full_refresh,
        )
    except EmptyRangeError as exc:
        raise SystemExit(str(exc)) from None
    return 0 if ok else 1


def _cmd_invalidate(args: argparse.Namespace) -> int:
    removed = invalidate_range(*ordered(args.start, args.stop), args.layer)
    print(
        f"invalidated {args.layer} and downstream for [{args.start:%Y-%m-%dT%H}, "
        f"{args.stop:%Y-%m-%dT%H}): {removed} marker(s) removed; the rows stay until the next "
        "run rebuilds them"
    )
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    if args.start is not None:
        if args.stop is None:
            raise SystemExit("reconcile: --start needs --stop")
        start, stop = args.start, args.stop
    else:
        start, stop = args.since, utcnow()
    report = reconcile(
        start,
        stop,
        workers=args.workers,
        scheduler_host=args.scheduler_host,
        scheduler_port=args.scheduler_port,
    )
    print(report.render())
    return 0 if report.rebuilt else 1


def _print_summary(start: datetime, stop: datetime) -> None:
    connection = connect(create=False)
    try:
        print(gold_summary(connection, start, stop).render())
    finally:
        connection.close()


def _cmd_demo(args: argparse.Namespace) -> int:
    ok, start, stop = run_demo(workers=args.workers, log_level=args.log_level)
    _print_summary(start, stop)
    return 0 if ok else 1


def parse_since(text: str) -> datetime:
    """``24h``, ``90m``, ``7d`` (ago) or an absolute ``2022-04-01T22``, as naive UTC."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[:-1].isdigit() and text[-1:] in units:
        return utcnow() - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither like 24h/90m/7d nor a date"
        ) from None


def _cmd_checks(args: argparse.Namespace) -> int:
    connection = connect(create=False)
    try:
        freshness = timedelta(hours=config.playstudio().freshness_hours)
        report = check_report(connection, args.since, utcnow(), freshness)
    finally:
        connection.close()
    print(report.render())
    return 1 if report.errors_failed else 0


def _cmd_status(args: argparse.Namespace) -> int:
    start, stop = ordered(args.start, args.stop)
    connection = connect(create=False)
    try:
        status = coverage_status(connection, start, stop, since=utcnow() - timedelta(days=1))
    finally:
        connection.close()
    print(status.to_json() if args.json else status.render())
    return 0 if status.complete else 3


def _cmd_docs(args: argparse.Namespace) -> int:
    if (args.start is None) != (args.stop is None):
        raise SystemExit("docs: give both --start and --stop, or neither")
    connection = connect(create=False)
    try:
        if args.start is None:
            found = loaded_range(connection)
            if found is None:
                print("error: nothing loaded yet; run a backfill first", file=sys.stderr)
                return 1
            start, stop = found
        else:
            start, stop = args.start, args.stop
        if stop <= start:
            raise SystemExit(f"empty range: --start {start:%Y-%m-%dT%H} --stop {stop:%Y-%m-%dT%H}")
        pages = build_site(args.out, start, stop, connection)
    finally:
        connection.close()
    print(f"data docs for [{start:%Y-%m-%dT%H}, {stop:%Y-%m-%dT%H}): {pages[0].resolve()}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    _print_summary(*ordered(args.start, args.stop))
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    if args.action == "roles":
        try:
            with transaction() as connection, connection.cursor() as cursor:
                create_roles(cursor, args.pipeline_role, args.analyst_role)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"roles ready: {args.pipeline_role} owns the warehouse, {args.analyst_role} reads gold"
        )
        return 0

    if config.configured_dsn() is not None and args.action not in ("url", "roles"):
        print(f"{config.DSN_ENV} is set: the embedded database is not used", file=sys.stderr)
        return 2
    if config.configured_dsn() is not None:
        # The real DSN may hold a password; this form has none and still works with psql.
        print(without_password(config.configured_dsn()))
        print(
            f"(from {config.DSN_ENV}, without its password: psql asks for it or reads "
            f'~/.pgpass or PGPASSWORD; psql "${config.DSN_ENV}" uses it as set)',
            file=sys.stderr,
        )
        return 0
    server = EmbeddedPostgres(config.home_dir())
    try:
        if args.action == "start":
            print(server.start())
        elif args.action == "stop":
            server.stop()
            print("stopped")
        elif args.action == "url":
            print(server.url())
        else:
            status = server.status()
            state = f"running (pid {status.pid})" if status.running else "stopped"
            print(f"{state}\ndata directory: {status.data_dir}")
            if status.dsn:
                print(f"url: {status.dsn}")
            return 0 if status.running else 3
    except EmbeddedPostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="playstudio-luigi",
        description="PlayStudio exports into a PostgreSQL warehouse (bronze, silver, gold).",
    )
    parser.add_argument("--log-level", default="WARNING", help="Luigi log level (default: WARNING)")
    commands = parser.add_subparsers(dest="command", required=True)

    backfill = commands.add_parser(
        "backfill", help="run everything needed for gold of the hours in [start, stop)"
    )
    backfill.add_argument("--start", type=parse_hour, required=True, help="first hour, inclusive")
    backfill.add_argument("--stop", type=parse_hour, required=True, help="last hour, exclusive")
    backfill.add_argument("--workers", type=int, default=1)
    backfill.add_argument("--scheduler-host", help="central luigid host (default: local scheduler)")
    backfill.add_argument("--scheduler-port", type=int)
    backfill.add_argument(
        "--full-refresh",
        action="store_true",
        help="remove the range's markers and rows first (after a source re-export)",
    )
    backfill.set_defaults(handler=_cmd_backfill)

    reconcile = commands.add_parser(
        "reconcile", help="re-run exactly the processed intervals whose source slice changed"
    )
    reconcile.add_argument("--since", type=parse_since, default="6h", help="24h, 90m, 7d or a date")
    reconcile.add_argument("--start", type=parse_hour, help="first hour (instead of --since)")
    reconcile.add_argument("--stop", type=parse_hour, help="last hour, exclusive")
    reconcile.add_argument("--workers", type=int, default=1)
    reconcile.add_argument("--scheduler-host")
    reconcile.add_argument("--scheduler-port", type=int)
    reconcile.set_defaults(handler=_cmd_reconcile)

    invalidate = commands.add_parser(
        "invalidate", help="remove markers and rows of [start, stop) so the next run rebuilds it"
    )
    invalidate.add_argument("--start", type=parse_hour, required=True)
    invalidate.add_argument("--stop", type=parse_hour, required=True)
    invalidate.add_argument(
        "--layer",
        choices=["bronze", "silver", "gold"],
        default="bronze",
        help="first layer to rebuild; everything downstream is rebuilt too (default: bronze)",
    )
    invalidate.set_defaults(handler=_cmd_invalidate)

    demo = commands.add_parser(
        "demo", help="load the bundled sample end to end and print a gold summary"
    )
    demo.add_argument("--workers", type=int, default=1)
    demo.set_defaults(handler=_cmd_demo)

    checks = commands.add_parser(
        "checks", help="report recent data-check results and quarantine; exit 1 on errors"
    )
    checks.add_argument(
        "--since", type=parse_since, default="24h", help="window: 24h, 90m, 7d or a date"
    )
    checks.set_defaults(handler=_cmd_checks)

    status = commands.add_parser(
        "status",
        help="done / missing / failed intervals per layer, the source feed (watermarks, "
        "STALE), and the slowest runs",
    )
    status.add_argument("--start", type=parse_hour, required=True)
    status.add_argument("--stop", type=parse_hour, required=True)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_cmd_status)

    summary = commands.add_parser("summary", help="print a summary of gold for [start, stop)")
    summary.add_argument("--start", type=parse_hour, required=True)
    summary.add_argument("--stop", type=parse_hour, required=True)
    summary.set_defaults(handler=_cmd_summary)

    docs = commands.add_parser(
        "docs", help="write the data docs: a static HTML site (lineage, tables, quality, charts)"
    )
    docs.add_argument("--out", type=Path, required=True, help="directory to write the site into")
    docs.add_argument("--start", type=parse_hour, help="first hour (default: the first loaded)")
    docs.add_argument("--stop", type=parse_hour, help="last hour, exclusive (default: after last)")
    docs.set_defaults(handler=_cmd_docs)

    sample = commands.add_parser(
        "sample",
        help="write a sample export: one workbook, or a feed folder of export files "
        "(--files-per hour|5min, --formats xlsx,csv,parquet)",
        description="Write a deterministic sample export in the source format: one workbook "
        "(--out FILE.xlsx), or with --files-per a feed (--out DIR): purchases one file per "
        "hour or 5 minutes, spins one per hour, formats in rotation, each file's mtime its "
        "export time.",
    )
    sample_module.add_arguments(sample)
    sample.set_defaults(handler=sample_module.run_from_args)

    db = commands.add_parser("db", help="manage the embedded PostgreSQL")
    db.add_argument("action", choices=["start", "stop", "status", "url", "roles"])
    db.add_argument("--pipeline-role", default="playstudio_pipeline", help="with `roles`")
    db.add_argument("--analyst-role", default="playstudio_analyst", help="with `roles`")
    db.set_defaults(handler=_cmd_db)
    return parser


def _not_printed_by_luigi(record: logging.LogRecord) -> bool:
    """Luigi gives its own logger a handler once it runs: ours would print each line again."""
    luigi_logger = logging.getLogger("luigi-interface")
    return not (record.name.startswith("luigi-interface") and luigi_logger.handlers)


def _stdout_closed() -> int:
    """The reader of our output went away (``status | head``): stop quietly, like any Unix
    tool killed by SIGPIPE, instead of a traceback on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush has nowhere to fail
    return 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_printed_by_luigi)
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except UsageError as exc:
        print(f"playstudio-luigi {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except NoWarehouseError as exc:  # a read-only command: nothing to read, nothing made
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except config.ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WarehouseTooNewError as exc:  # nothing was touched; the message says what to do
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailableError as exc:  # one line, the DSN's password masked in it
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
