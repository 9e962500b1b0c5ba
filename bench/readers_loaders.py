"""Reader and loader micro-benchmarks behind the pipeline's choices (fastexcel, COPY).

    python -m bench.readers_loaders --purchases 100000 --repeat 3

Generates a workbook with ``playstudio-luigi sample``'s generator, then times, median of
``--repeat`` runs, each in this one process:

* reading the Purchases sheet: fastexcel (the pipeline's reader), pandas + calamine,
  pandas + openpyxl;
* loading the rows into PostgreSQL: COPY (the pipeline's loader), ``execute_values``,
  ``DataFrame.to_sql`` (multi-row INSERTs through SQLAlchemy).

Results are appended to BENCHMARKS.md with the machine, the versions and ratios against the
baseline of the same run. Needs the ``bench`` extra (python-calamine, sqlalchemy).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import psycopg2
from psycopg2.extras import execute_values

from playstudio_luigi.db.copy import copy_arrow
from playstudio_luigi.db.embedded import EmbeddedPostgres
from playstudio_luigi.source.reader import read_sheet
from playstudio_luigi.source.schema import PURCHASES
from playstudio_luigi.testing.sample import SampleSpec, write_sample

ROOT = Path(__file__).resolve().parent.parent
TABLE_DDL = """
drop table if exists bench_load;
create unlogged table bench_load (
    source_row integer, event_time timestamp, user_id text, revenue text, transaction_id text
)
"""


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    )


def versions(*packages: str) -> str:
    """``name version`` of each installed package, for a report's header."""
    return ", ".join(f"{package} {version(package)}" for package in packages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-openpyxl", action="store_true", help="it is the slowest by far")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="playstudio-bench-"))
    workbook = workdir / "bench.xlsx"
    spec = SampleSpec(purchases=args.purchases, hours=168, users=max(40, args.purchases // 20))
    write_sample(workbook, spec)

    readers: dict[str, Callable[[], object]] = {
        "fastexcel (pipeline)": lambda: read_sheet(workbook, PURCHASES),
        "pandas + calamine": lambda: pd.read_excel(workbook, "Purchases", engine="calamine"),
    }
    if not args.skip_openpyxl:
        readers["pandas + openpyxl"] = lambda: pd.read_excel(
            workbook, "Purchases", engine="openpyxl"
        )
    read_times = {name: median_seconds(action, args.repeat) for name, action in readers.items()}

    table = read_sheet(workbook, PURCHASES).select(
        ["source_row", "event_time", "user_id", "revenue", "transaction_id"]
    )
    rows = table.num_rows
    embedded = None if os.environ.get("PLAYSTUDIO_DSN") else EmbeddedPostgres(workdir / "home")
    dsn = os.environ.get("PLAYSTUDIO_DSN") or embedded.start()
    connection = psycopg2.connect(dsn)
    frame = table.to_pandas()
    records = list(frame.itertuples(index=False, name=None))

    def load(action: Callable[[psycopg2.extensions.cursor], None]) -> Callable[[], None]:
        def run() -> None:
            with connection, connection.cursor() as cursor:
                cursor.execute(TABLE_DDL)
                action(cursor)

        return run

    def copy(cursor) -> None:
        copy_arrow(cursor, "public", "bench_load", table)

    def values(cursor) -> None:
        execute_values(cursor, "insert into bench_load values %s", records, page_size=1000)

    from sqlalchemy import create_engine

    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))

    def to_sql() -> None:
        with connection, connection.cursor() as cursor:
            cursor.execute(TABLE_DDL)
        frame.to_sql(
            "bench_load", engine, if_exists="append", index=False, method="multi", chunksize=1000
        )

    loaders: dict[str, Callable[[], None]] = {
        "COPY (pipeline)": load(copy),
        "execute_values": load(values),
        "DataFrame.to_sql (multi)": to_sql,
    }
    load_times = {name: median_seconds(action, args.repeat) for name, action in loaders.items()}
    connection.close()
    engine.dispose()
    if embedded is not None:
        embedded.stop()
    shutil.rmtree(workdir, ignore_errors=True)

    report = render(args, rows, read_times, load_times)
    print(report)
    with open(args.out, "a") as handle:
        handle.write(report)


def render(args, rows: int, read_times: dict[str, float], load_times: dict[str, float]) -> str:
    lines = [
        f"\n## Readers and loaders, {args.purchases:,} purchases "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n",
        f"- machine: {machine()}",
        "- versions: "
        + versions(
            "fastexcel",
            "pandas",
            "openpyxl",
            "python-calamine",
            "psycopg2-binary",
            "SQLAlchemy",
            "pyarrow",
        ),
        f"- median of {args.repeat} runs; `python -m bench.readers_loaders "
        f"--purchases {args.purchases} --repeat {args.repeat}`\n",
        "| reading the Purchases sheet | seconds | rows/s | vs fastexcel |",
        "|---|---:|---:|---:|",
    ]
    base = read_times["fastexcel (pipeline)"]
    for name, seconds in read_times.items():
        lines.append(f"| {name} | {seconds:.2f} | {rows / seconds:,.0f} | {seconds / base:.1f}x |")
    lines += [
        "",
        "| loading into PostgreSQL | seconds | rows/s | vs COPY |",
        "|---|---:|---:|---:|",
    ]
    base = load_times["COPY (pipeline)"]
    for name, seconds in load_times.items():
        lines.append(f"| {name} | {seconds:.2f} | {rows / seconds:,.0f} | {seconds / base:.1f}x |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
