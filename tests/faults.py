"""Helpers of the reliability suites: the CLI in a subprocess (with its peak memory), a
throw-away database, a comparable snapshot of the warehouse, and the integrity invariants as
SQL queries that return the rows breaking them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
from source_rows import tx

from playstudio_luigi.testing import GOLD_COLUMNS, table_rows

#: Every table a backfill writes, projected on the columns that do not depend on when or in
#: which order tasks ran (no load timestamps, no run-order-dependent marker details).
SNAPSHOT_COLUMNS: dict[str, tuple[str, ...]] = {
    "bronze.bronze_purchases": (
        "interval_start",
        "event_time",
        "user_id",
        "revenue",
        "transaction_id",
        "source_sha256",
        "source_sheet",
        "source_row",
    ),
    "bronze.bronze_spins_hourly": (
        "interval_start",
        "event_time",
        "user_id",
        "country",
        "total_spins",
        "source_sha256",
        "source_sheet",
        "source_row",
    ),
    "silver.silver_purchases": (
        "transaction_id",
        "event_time",
        "app_hour",
        "interval_start",
        "user_id",
        "revenue",
        "source_row",
        "source_copies",
    ),
    "silver.silver_spins_hourly": ("app_hour", "user_id", "country", "total_spins", "source_rows"),
    "gold.aggregated_final_table": GOLD_COLUMNS,
    "ops.quarantine": ("interval_start", "sheet", "source_row", "reasons"),
    "ops.interval_loads": (
        "sheet",
        "interval_start",
        "source_rows",
        "loaded_rows",
        "quarantined_rows",
        "distinct_rows",
    ),
    "ops.task_markers": ("task_family", "interval_start", "source_sha256"),
}

#: Unique keys of each layer: a crash must never leave two rows for one key.
_KEYS = {
    "bronze.bronze_purchases": "interval_start, source_row",
    "bronze.bronze_spins_hourly": "interval_start, source_row",
    "silver.silver_purchases": "transaction_id",
    "silver.silver_spins_hourly": "app_hour, user_id, country",
    "gold.aggregated_final_table": "app_hour, user_id",
    "ops.quarantine": "sheet, interval_start, source_row",
    "ops.interval_loads": "sheet, interval_start",
    "ops.task_markers": "task_family, interval_start",
}

#: (marker family, table, interval column, row count in the marker's details).
_MARKED_DATA = (
    ("ExtractPurchases", "staging.extract_purchases", "interval_start", "source_rows"),
    ("ExtractSpins", "staging.extract_spins", "interval_start", "source_rows"),
    ("LoadBronzePurchases", "bronze.bronze_purchases", "interval_start", "bronze_rows"),
    ("LoadBronzeSpins", "bronze.bronze_spins_hourly", "interval_start", "bronze_rows"),
    ("SilverPurchases", "silver.silver_purchases", "interval_start", "silver_rows"),
    ("SilverSpins", "silver.silver_spins_hourly", "app_hour", "silver_rows"),
    ("GoldAggregate", "gold.aggregated_final_table", "app_hour", "gold_rows"),
)

#: Families whose rows may be filed under an interval before its own marker exists.
_DATA_BEFORE_MARKER = {"SilverPurchases"}


def invariant_queries() -> dict[str, str]:
    """Name -> query returning the rows that break the invariant (none when it holds)."""
    queries = {
        f"no duplicate key in {table}": (
            f"select {key}, count(*) from {table} where ({key}) is not null"
            f" group by {key} having count(*) > 1"
        )
        for table, key in _KEYS.items()
    }
    for family, table, column, count in _MARKED_DATA:
        # Silver purchases of an interval may come before its marker: another interval's run
        # files a transaction under the interval of its first copy (it counts them in the
        # marker once there is one).
        early = " and m.n is not null" if family in _DATA_BEFORE_MARKER else ""
        queries[f"{family}: every marker has its data, all data has its marker"] = f"""
            with data as (
                select {column} as interval_start, count(*) as n from {table} group by 1
            ), marked as (
                select interval_start, (details ->> '{count}')::int as n
                from ops.task_markers where task_family = '{family}'
            )
            select coalesce(d.interval_start, m.interval_start), d.n as rows, m.n as marked
            from data d full join marked m using (interval_start)
            where coalesce(d.n, 0) <> coalesce(m.n, -1) and not (d.n is null and m.n = 0)
            {early}
        """
    for family, sheet in (
        ("LoadBronzePurchases", "Purchases"),
        ("LoadBronzeSpins", "Spins Hourly"),
    ):
        queries[f"{family}: conservation row exactly when marked"] = f"""
            select coalesce(l.interval_start, m.interval_start)
            from (select interval_start from ops.interval_loads where sheet = '{sheet}') l
            full join (select interval_start from ops.task_markers
                       where task_family = '{family}') m using (interval_start)
            where l.interval_start is null or m.interval_start is null
        """
    return queries


def broken_invariants(connection: psycopg2.extensions.connection) -> dict[str, list[tuple]]:
    """Every invariant that does not hold, with (up to 5 of) its offending rows."""
    broken = {}
    with connection.cursor() as cursor:
        tables = {*_KEYS, *(table for _, table, _, _ in _MARKED_DATA)}
        cursor.execute(
            "select t from unnest(%s::text[]) t where to_regclass(t) is null", (list(tables),)
        )
        if missing := [t for (t,) in cursor.fetchall()]:
            # Killed while creating the schema: fine, as long as nothing was marked done.
            if "ops.task_markers" not in missing and marker_count_in(cursor):
                broken["markers without the whole schema"] = [tuple(missing)]
            return broken
        for name, query in invariant_queries().items():
            cursor.execute(query)
            rows = cursor.fetchmany(5)
            if rows:
                broken[name] = rows
    return broken


def snapshot(connection: psycopg2.extensions.connection) -> dict[str, list[tuple]]:
    """The warehouse's content, comparable between runs."""
    return {table: table_rows(connection, table, cols) for table, cols in SNAPSHOT_COLUMNS.items()}


def without_hashes(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A snapshot without its ``source_sha256`` columns: an interval whose rows are the same
    in a new version of its file is not rebuilt (by design), so its rows keep naming the
    version they were loaded from."""
    out = {}
    for table, columns in SNAPSHOT_COLUMNS.items():
        keep = [i for i, column in enumerate(columns) if column != "source_sha256"]
        out[table] = sorted(tuple(row[i] for i in keep) for row in rows[table])
    return out


def differences(actual: dict, expected: dict) -> dict[str, str]:
    """Per table, a short description of how ``actual`` differs from ``expected``."""
    out = {}
    for table, rows in expected.items():
        got = actual.get(table, [])
        if got != rows:
            missing = [r for r in rows if r not in got][:3]
            extra = [r for r in got if r not in rows][:3]
            out[table] = f"{len(got)} rows, expected {len(rows)}; missing {missing}; extra {extra}"
    return out


def _with_database(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped afterwards."""
    dbname = f"r_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'create database "{dbname}"')
        yield _with_database(admin_url, dbname)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{dbname}" with (force)')
        admin.close()


@contextmanager
def connected(dsn: str) -> Iterator[psycopg2.extensions.connection]:
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def cli_env(*, dsn: str | None, home: Path, source: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: our variables only as given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    env.update({"PLAYSTUDIO_HOME": str(home), "PLAYSTUDIO_SOURCE": str(source), **extra})
    if dsn is not None:
        env["PLAYSTUDIO_DSN"] = dsn
    return env


def cli(*args: str) -> list[str]:
    """``playstudio-luigi ARGS``, the console script of this environment's installed package
    (run it from a scratch directory: see :func:`scratch_cwd`)."""
    return [str(Path(sys.executable).parent / "playstudio-luigi"), *args]


def scratch_cwd(env: dict[str, str]) -> Path:
    """A working directory beside the run's home: no checkout, no ``luigi.cfg`` in sight."""
    where = Path(env["PLAYSTUDIO_HOME"]).parent
    where.mkdir(parents=True, exist_ok=True)
    return where


@dataclass
class Outcome:
    returncode: int
    seconds: float
    peak_rss_mb: float
    stderr: str
    killed: bool = False


def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    *,
    kill_after: float | None = None,
    kill_when: Callable[[], bool] | None = None,
    timeout: float = 900,
    cwd: Path | None = None,
) -> Outcome:
    """Run the CLI; with ``kill_after``, ``kill -9`` its whole process group after that many
    seconds if it is still running; with ``kill_when``, as soon as that returns true.
    Peak RSS covers the process and its waited children."""
    started = time.monotonic()
    stderr_path = Path(env["PLAYSTUDIO_HOME"]).with_suffix(f".{uuid.uuid4().hex[:6]}.err")
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stderr_path, "w+") as stderr:
        process = subprocess.Popen(
            list(args),
            env=env,
            cwd=cwd or scratch_cwd(env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        killed = False
        limit = timeout if kill_after is None else kill_after
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            due = kill_when is not None and kill_when()
            if due or time.monotonic() - started > limit:
                os.killpg(process.pid, signal.SIGKILL)
                killed = due or kill_after is not None
                if not killed:
                    raise AssertionError(f"{args} did not finish within {timeout} s")
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        if killed:  # the task processes of --workers > 1 may outlive their parent briefly
            _kill_group(process.pid)
        stderr.seek(0)
        text = stderr.read()
    stderr_path.unlink()
    return Outcome(
        process.returncode, time.monotonic() - started, usage.ru_maxrss / 1024, text, killed
    )


def day_export(path: Path) -> Path:
    """One day of exports (600 purchases, exact duplicates, spins over 24 hours, blank
    padding) plus 25 rows for quarantine: wrong currency and not-a-UUID every other hour, and
    one row without a readable date."""
    import openpyxl

    from playstudio_luigi.testing.sample import SampleSpec, write_sample

    write_sample(path, SampleSpec(purchases=600, hours=24, seed=11, users=40))
    workbook = openpyxl.load_workbook(path)
    purchases = workbook["Purchases"]
    for i in range(12):
        when = datetime(2022, 4, 1, 2 * i, 7, 30)
        purchases.append([when, f"BAD{i}", "PriceInEUR=1.00", tx(i)])
        purchases.append([when, f"BAD{i}", "PriceInUSD=1.00", f"not-a-uuid-{i}"])
    purchases.append(["yesterday", "BADDATE", "PriceInUSD=1.00", "undated"])
    workbook.save(path)
    return path


def clean_run(admin_url: str, source: Path, args: Sequence[str], home: Path):
    """(snapshot, seconds) of one uninterrupted ``playstudio-luigi ARGS`` on a new database."""
    with scratch_database(admin_url) as dsn:
        outcome = run_cli(cli(*args), cli_env(dsn=dsn, home=home, source=source))
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        with connected(dsn) as connection:
            assert broken_invariants(connection) == {}
            return snapshot(connection), outcome.seconds


def marker_count_in(cursor: psycopg2.extensions.cursor) -> int:
    cursor.execute("select to_regclass('ops.task_markers') is not null")
    if not cursor.fetchone()[0]:
        return 0  # not even the schema yet
    cursor.execute("select count(*) from ops.task_markers")
    return cursor.fetchone()[0]


def marker_count(dsn: str) -> int:
    with connected(dsn) as connection, connection.cursor() as cursor:
        return marker_count_in(cursor)


def rewrite_sheet(path: Path, member: str, edit: Callable[[bytes], Iterable[bytes]]) -> Path:
    """Rewrite one part of the workbook at ``path`` (streamed, so it may expand to gigabytes)."""
    source = path.with_suffix(".orig.xlsx")
    path.rename(source)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename != member:
                new.writestr(info, data)
                continue
            with new.open(member, "w", force_zip64=True) as stream:
                for piece in edit(data):
                    stream.write(piece)
    source.unlink()
    return path


def before_sheet_end(extra: Callable[[], Iterable[bytes]]) -> Callable[[bytes], Iterator[bytes]]:
    def edit(xml: bytes) -> Iterator[bytes]:
        head, tail = xml.split(b"</sheetData>")
        yield head
        yield from extra()
        yield b"</sheetData>" + tail

    return edit


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
