"""Operations: run history, coverage status, and a real luigid coordinating workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime as dt
from datetime import timedelta
from pathlib import Path

import pytest
from luigid_server import api, start_luigid, task_list
from source_rows import tx

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline
from playstudio_luigi.cli import main
from playstudio_luigi.testing import run, table_rows, write_workbook
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

H22 = dt(2022, 4, 1, 22)


@pytest.fixture
def half_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Good rows everywhere, but 22:20 is mostly garbage (its batch is rejected)."""
    rows = [(H22 + timedelta(minutes=m), "U1", "PriceInUSD=1.00", tx(m)) for m in range(60)]
    rows += [(H22 + timedelta(minutes=20, seconds=s), "U1", "1.00", tx(100 + s)) for s in range(30)]
    path = write_workbook(tmp_path / "w.xlsx", rows, [(H22, "U1", "US", 1)])
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


def test_run_history_records_every_run(db, half_broken):
    assert not run([HourlyPipeline(hour=H22)])
    runs = table_rows(db, "ops.task_runs", ["task_family", "interval_start", "status"])
    failed = [(f, s) for f, s, status in runs if status == "failed"]
    assert failed == [("ValidatePurchases", H22 + timedelta(minutes=20))]
    done = [(f, s) for f, s, status in runs if status == "done"]
    assert len(done) == len(set(done)), "no task ran twice"
    assert ("ExtractPurchases", H22 + timedelta(minutes=20)) in done
    with db.cursor() as cursor:
        cursor.execute(
            "select rows_in, rows_loaded, rows_quarantined, worker_host, error is null"
            " from ops.task_runs where task_family = 'LoadBronzePurchases' and interval_start = %s",
            (H22,),
        )
        assert cursor.fetchone() == (5, 5, 0, socket.gethostname(), True)
        cursor.execute("select error from ops.task_runs where status = 'failed'")
        assert "max_reject_ratio" in cursor.fetchone()[0]


def test_status_shows_done_missing_and_failed(db, half_broken, capsys):
    assert not run(
        [FiveMinutePipeline(interval=H22 + timedelta(minutes=m)) for m in range(0, 30, 5)]
    )
    code = main(["status", "--start", "2022-04-01T22", "--stop", "2022-04-01T23"])
    assert code == 3  # incomplete
    text = capsys.readouterr().out
    assert (
        "bronze LoadBronzePurchases       5/12 done; FAILED 1: 2022-04-01T22:20; "
        "missing 6: 2022-04-01T22:30 … 2022-04-01T22:55 (6)" in text
    )
    assert "gold   GoldAggregate             0/1 done; FAILED 1: 2022-04-01T22:00" in text
    assert main(["status", "--start", "2022-04-01T22", "--stop", "2022-04-01T23", "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    silver = next(c for c in data["coverage"] if c["family"] == "SilverPurchases")
    assert (silver["done"], silver["failed"]) == (5, ["2022-04-01T22:20"])
    assert data["slowest"] and data["slowest"][0]["task_family"]


@pytest.fixture
def luigid(tmp_path: Path) -> Iterator[int]:
    """A real central scheduler on a free port; fails (not skips) if it cannot start."""
    with start_luigid(tmp_path) as server:
        yield server.port


def backfill_through(port: int, start: str, stop: str) -> list[str]:
    """The command of a two-process backfill worker using the luigid on ``port``."""
    cli = Path(sys.executable).parent / "playstudio-luigi"
    scheduler = ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]
    return [str(cli), "backfill", "--start", start, "--stop", stop, *scheduler, "--workers", "2"]


def test_day_backfills_through_luigid_share_days_between_workers(warehouse, luigid, tmp_path):
    env = {**os.environ, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE)}
    args = backfill_through(luigid, "2022-04-01T21", "2022-04-02T02")  # parts of two days
    workers = [
        subprocess.Popen(args, env={**env, "PLAYSTUDIO_HOME": str(tmp_path / f"h{i}")})
        for i in range(2)
    ]
    assert [w.wait(timeout=600) for w in workers] == [0, 0]
    done = task_list(luigid, "DONE")
    assert sorted(t["params"]["day"] for t in done.values() if t["name"] == "DayPipeline") == [
        "2022-04-01",
        "2022-04-02",
    ]
    day = next(i for i, t in done.items() if t["name"] == "DayPipeline")
    assert "done" in api(luigid, "get_task_status_message", {"task_id": day})["statusMessage"]
    from playstudio_luigi.db.connection import connect

    conn = connect()
    try:
        markers = table_rows(conn, "ops.task_markers", ["task_family", "interval_start"])
        runs = table_rows(conn, "ops.task_runs", ["task_family", "interval_start", "status"])
    finally:
        conn.close()
    # Five hours: 60 five-minute intervals in four layers, five hours in five hourly layers.
    assert len(markers) == 60 * 4 + 5 * 5
    # One run per layer and day, each done once (no worker redid the other's day).
    assert {status for *_, status in runs} == {"done"}
    assert len(runs) == len({(family, start) for family, start, _ in runs}) == 9 * 2


def test_progress_line_counts_done_work(db, half_broken):
    from playstudio_luigi.operations.progress import progress_text

    assert run([FiveMinutePipeline(interval=H22)])
    assert progress_text([H22, H22 + timedelta(hours=1)]) == (
        "backfill: 0/2 hours in gold, 1/24 5-minute intervals in silver"
    )


def test_a_killed_worker_is_replaced_and_tables_are_right(warehouse, luigid, tmp_path):
    import signal

    from reference_model import gold_reference

    from playstudio_luigi.db.connection import connect
    from playstudio_luigi.testing import GOLD_COLUMNS

    env = {**os.environ, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE)}
    args = backfill_through(luigid, "2022-04-01T00", "2022-04-01T06")

    config = tmp_path / "worker.cfg"
    config.write_text("[worker]\nmax_keep_alive_idle_duration = 10\n")
    env["LUIGI_CONFIG_PATH"] = str(config)

    def worker(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            args,
            env={**env, "PLAYSTUDIO_HOME": str(tmp_path / name)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    victim, survivor = worker("a"), worker("b")
    time.sleep(4)
    os.killpg(victim.pid, signal.SIGKILL)  # the worker and its task processes, mid-task
    victim.wait(timeout=30)
    # The survivor does what it can; the dead worker's tasks stay failed in luigid.
    survivor.wait(timeout=300)
    deadline = time.monotonic() + 180
    while task_list(luigid, "RUNNING"):
        assert time.monotonic() < deadline, "luigid never noticed the dead worker"
        time.sleep(1)
    # Restarted workers (as the next cron run would be) schedule what is missing again; luigid
    # hands a dead worker's task out again only after its retry delay, so allow a few rounds.
    for attempt in range(6):
        if worker(f"c{attempt}").wait(timeout=300) == 0:
            break
    else:
        pytest.fail("restarted workers never finished the backfill")

    conn = connect()
    try:
        actual = table_rows(conn, "gold.aggregated_final_table", GOLD_COLUMNS)
    finally:
        conn.close()
    expected = gold_reference(Path(str(BUNDLED_SAMPLE)))
    expected = expected[expected["app_hour"] < dt(2022, 4, 1, 6)]
    assert len(actual) == len(expected) > 0
    assert [row[:6] for row in actual] == [
        tuple(r)[:6] for r in expected[list(GOLD_COLUMNS)].itertuples(index=False)
    ]
