"""Micro-benchmark: one day's statements of a layer, on a warehouse a backfill filled.

    PLAYSTUDIO_DSN=postgresql://.../bench_x python -m bench.statements --day 2022-04-03
    PLAYSTUDIO_DSN=... python -m bench.statements --day 2022-04-03 \\
        --ab /work/wt-base --ab-python /tmp/venv-base/bin/python

End to end, levers worth under 5% drown in this machine's noise (BENCHMARKS.md); this times
them alone. Each case runs inside a transaction that is rolled back, so the warehouse is the
same for every run and side:

* ``gold``: ``GoldAggregate.write`` over the day's 24 hours (the model's insert and the daily
  refresh), as a bulk day runs it;
* ``checks_silver_purchases`` / ``checks_gold``: the layer's SQL checks over the day.

``--ab`` alternates this checkout (B) with another (A, run with its own venv's Python), A B,
B A, ...; each run is its own process, timing only the statements (wall and the server
backend's CPU, from ``/proc`` when the server is on this machine). Medians and B/A ratios are
printed as a Markdown table (paste it into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.pipeline import RUN_AS_MAIN, proc_stat

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
CASES = ("gold", "checks_silver_purchases", "checks_gold")


def _backend_cpu(cursor) -> float | None:
    """CPU seconds of this connection's server process so far (None: not on this machine)."""
    cursor.execute("select pg_backend_pid()")
    (pid,) = cursor.fetchone()
    stat = proc_stat(pid)
    return None if stat is None else sum(stat[1][:2]) / os.sysconf("SC_CLK_TCK")


def measure(case: str, day: date) -> dict[str, float | None]:
    """Run ``case`` over ``day`` once, rolled back; wall and server CPU seconds."""
    from playstudio_luigi.db.connection import connect
    from playstudio_luigi.intervals import FIVE_MINUTES, ONE_HOUR, starts_between
    from playstudio_luigi.quality.checks import run_checks
    from playstudio_luigi.tasks.gold import GoldAggregate, day_params

    midnight = datetime.combine(day, datetime.min.time())
    hours = starts_between(midnight, midnight + timedelta(days=1), ONE_HOUR)
    intervals = starts_between(midnight, midnight + timedelta(days=1), FIVE_MINUTES)
    connection = connect()
    try:
        with connection.cursor() as cursor:
            server_before = _backend_cpu(cursor)
            started = time.perf_counter()
            if case == "gold":
                GoldAggregate.at(hours[0]).write(cursor, hours, None)
            elif case == "checks_silver_purchases":
                run_checks(cursor, "silver_purchases", {"starts": intervals})
            else:
                run_checks(cursor, "gold", {"hours": hours, **day_params(hours)})
            seconds = time.perf_counter() - started
            server_after = _backend_cpu(cursor)
    finally:
        connection.rollback()
        connection.close()
    server = None if server_before is None else server_after - server_before
    return {"seconds": seconds, "server_cpu": server}


def _child(python: str, checkout: Path, case: str, day: date) -> dict[str, float | None]:
    command = [
        python,
        "-c",
        RUN_AS_MAIN.format(path=str(HERE)),
        "--measure",
        case,
        "--day",
        str(day),
    ]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{checkout} {case} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(values: list[float]) -> str:
    median, low, high = (1000 * f(values) for f in (statistics.median, min, max))
    return f"{median:.1f} ({low:.1f}-{high:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--ab", type=Path, help="another checkout to compare (A) with this (B)")
    parser.add_argument("--ab-python", help="the Python of --ab's venv")
    parser.add_argument("--measure", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.day)))
        return
    if not os.environ.get("PLAYSTUDIO_DSN"):
        parser.error("set PLAYSTUDIO_DSN to a warehouse a backfill filled")
    sides = [("B" if args.ab else "this", sys.executable, ROOT)]
    if args.ab:
        if not args.ab_python:
            parser.error("--ab needs --ab-python")
        sides.insert(0, ("A", args.ab_python, args.ab.resolve()))
    runs: dict[tuple[str, str], list[dict]] = {}
    for case in args.cases:
        _child(sides[0][1], sides[0][2], case, args.day)  # warm the server's caches
        for number in range(args.repeat):
            for label, python, checkout in sides if number % 2 == 0 else sides[::-1]:
                runs.setdefault((case, label), []).append(_child(python, checkout, case, args.day))
    print(f"\n{args.repeat} runs per side and case, day {args.day}; ms: median (min-max)\n")
    print("| case | side | wall ms | server CPU ms | B/A wall |")
    print("|---|---|---:|---:|---:|")
    for case in args.cases:
        for label, _, _ in sides:
            found = runs[(case, label)]
            wall = [r["seconds"] for r in found]
            server = [r["server_cpu"] for r in found if r["server_cpu"] is not None]
            ratio = ""
            if label == "B":
                base = statistics.median(r["seconds"] for r in runs[(case, "A")])
                ratio = f"{statistics.median(wall) / base:.2f}"
            cpu = _cell(server) if server else ""
            print(f"| {case} | {label} | {_cell(wall)} | {cpu} | {ratio} |")


if __name__ == "__main__":
    main()
