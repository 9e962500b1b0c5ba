"""Change operations racing tasks in flight, one reproduction each (issue 14).

Each race is made deterministic by holding a lock the task under test needs from a connection
of the test's own, so the task is parked exactly where the race window was, then starting the
change operation and releasing the lock. Before the change-lock protocol (``db/locks.py``) each
of them ended with a wrong warehouse that every later run took for complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime as dt
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from luigid_server import start_luigid
from source_rows import tx

from playstudio_luigi import GoldAggregate, HourlyPipeline, SilverPurchases, SilverSpins
from playstudio_luigi.cli import main
from playstudio_luigi.db.connection import connect
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.intervals import five_minute_starts
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.operations.reconcile import invalidate_changed
from playstudio_luigi.tasks.bronze import LoadBronzePurchases
from playstudio_luigi.tasks.extract import ExtractPurchases
from playstudio_luigi.tasks.validate import ValidatePurchases
from playstudio_luigi.testing import (
    GOLD_COLUMNS,
    gold_rows,
    reset_warehouse,
    run,
    table_rows,
    write_workbook,
)
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

H22, H23 = dt(2022, 4, 1, 22), dt(2022, 4, 1, 23)
PURCHASES = [
    (H22 + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1)),
    (H22 + timedelta(minutes=7), "U2", "PriceInUSD=1.99", tx(2)),
    (H22 + timedelta(minutes=31), "U1", "PriceInUSD=3.00", tx(3)),
]
SPINS = [(H22, "U1", "US", 5), (H22, "U2", "CA", 2)]


def silver_of_hour() -> list:
    return [SilverSpins(hour=H22)] + [SilverPurchases(interval=s) for s in five_minute_starts(H22)]


def waiting_locks(db) -> int:
    with db.cursor() as cursor:
        cursor.execute("select count(*) from pg_locks where locktype = 'advisory' and not granted")
        return cursor.fetchone()[0]


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


class Background(threading.Thread):
    """Run ``target`` in a thread, keeping its exception for the test to see."""

    def __init__(self, target: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.target, self.error, self.result = target, None, None

    def run(self) -> None:
        try:
            self.result = self.target()
        except BaseException as error:
            self.error = error


@contextmanager
def day_lock_held(day: dt) -> Iterator[None]:
    """Hold the day lock exclusively, as a gold task of that day would, until the block ends."""
    blocker = connect()
    try:
        with blocker.cursor() as cursor:
            lock_day(cursor, day, shared=False)
        yield
    finally:
        blocker.rollback()
        blocker.close()


def race_with_gold_waiting(db, operation: Callable[[], object]) -> Background:
    """Park ``GoldAggregate(H22)`` inside its transaction (waiting for the day lock), start
    ``operation``, let it either finish or queue behind the gold task, then let gold go."""
    with day_lock_held(H22):
        task = Background(GoldAggregate(hour=H22).run)
        task.start()
        wait_until(lambda: waiting_locks(db) >= 1, "the gold task to wait for the day lock")
        change = Background(operation)
        change.start()
        wait_until(
            lambda: not change.is_alive() or waiting_locks(db) >= 2,
            "the change to finish or to wait",
        )
    task.join(60)
    change.join(60)
    assert not task.is_alive() and not change.is_alive()
    return change


def test_invalidate_waits_for_a_gold_task_in_flight(db, source):
    """Before: gold built from the emptied silver, 0 rows, marked complete for good."""
    write_workbook(source, PURCHASES, SPINS)
    assert run([HourlyPipeline(hour=H22)])
    clean = gold_rows(db)
    assert clean and sum(row[4] for row in clean) == Decimal("9.98")
    reset_warehouse(db)

    assert run(silver_of_hour())
    change = race_with_gold_waiting(db, lambda: invalidate_range(H22, H23, "silver"))
    assert change.error is None
    assert gold_rows(db) != [], "a refresh never empties what it has not rebuilt yet"
    assert not HourlyPipeline(hour=H22).complete(), "the invalidation removed gold's marker"
    assert run([HourlyPipeline(hour=H22)])
    assert gold_rows(db) == clean


def test_reconcile_waits_for_a_gold_task_in_flight(db, source):
    """Before: gold kept the old revenue (4.99) after silver was corrected (2.99)."""
    corrected = [(PURCHASES[0][0], "U1", "PriceInUSD=2.99", tx(1)), *PURCHASES[1:]]
    write_workbook(source, corrected, SPINS)
    assert run([HourlyPipeline(hour=H22)])
    clean = gold_rows(db)
    reset_warehouse(db)

    write_workbook(source, PURCHASES, SPINS)
    assert run(silver_of_hour())
    write_workbook(source, corrected, SPINS)  # re-exported with a correction
    change = race_with_gold_waiting(db, lambda: invalidate_changed(H22, H23))
    assert change.error is None and change.result.hours == [H22]
    assert run([HourlyPipeline(hour=H22)])
    assert gold_rows(db) == clean
    (u1,) = [row for row in gold_rows(db) if row[1] == "U1"]
    assert u1[4] == Decimal("5.99")


def test_a_task_whose_input_was_invalidated_writes_nothing(db, source):
    """The marker check Luigi made before ``run()`` is stale once an input is invalidated:
    the task re-checks inside its transaction and refuses, in one line."""
    write_workbook(source, PURCHASES, SPINS)
    assert run(silver_of_hour())
    invalidate_range(H22, H23, "silver")  # after the scheduler's check, before run()
    with pytest.raises(RuntimeError, match="was invalidated after this run was scheduled"):
        GoldAggregate(hour=H22).run()
    assert ("GoldAggregate",) not in table_rows(db, "ops.task_markers", ["task_family"])


def test_a_batch_of_two_source_versions_quarantines_only_its_own_bad_rows(db, source):
    """Row 2 is a good purchase at 22:01 in the first export and a bad one at 22:06 in the
    second; the intervals were extracted from different exports and validated together."""
    a, b = H22, H22 + timedelta(minutes=5)
    write_workbook(source, [(a + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1))], SPINS)
    ExtractPurchases(interval=a).run()
    second = [
        (b + timedelta(minutes=1), "U9", "4.99 dollars", tx(9)),  # row 2: rejected
        (a + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1)),  # row 3
    ]
    write_workbook(source, second, SPINS)
    ExtractPurchases(interval=b).run()
    ValidatePurchases(interval=a).run_intervals([a, b])
    LoadBronzePurchases(interval=a).run_intervals([a, b])
    quarantined = table_rows(db, "ops.quarantine", ["interval_start", "source_row"])
    assert quarantined == [(b, 2)]
    bronze = table_rows(db, "bronze.bronze_purchases", ["interval_start", "transaction_id"])
    assert bronze == [(a, tx(1))]
    # Reconcile brings interval a to the newest export: then equal to a clean run of it.
    report = invalidate_changed(a, b + timedelta(minutes=5))
    assert [c.interval_start for c in report.changes] == [a]
    assert run([LoadBronzePurchases(interval=a), LoadBronzePurchases(interval=b)])
    rebuilt = table_rows(db, "bronze.bronze_purchases", ["interval_start", "source_row"])
    quarantined = table_rows(db, "ops.quarantine", ["interval_start", "source_row"])
    reset_warehouse(db)
    assert run([LoadBronzePurchases(interval=a), LoadBronzePurchases(interval=b)])
    assert rebuilt == table_rows(db, "bronze.bronze_purchases", ["interval_start", "source_row"])
    assert quarantined == table_rows(db, "ops.quarantine", ["interval_start", "source_row"])


def test_a_failed_full_refresh_keeps_the_previous_rows(db, source, monkeypatch, capsys):
    write_workbook(source, PURCHASES, SPINS)
    assert main(["backfill", "--start", "2022-04-01T22", "--stop", "2022-04-01T23"]) == 0
    before = gold_rows(db)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source.with_name("gone.xlsx")))
    capsys.readouterr()
    args = ["backfill", "--full-refresh", "--start", "2022-04-01T22", "--stop", "2022-04-01T23"]
    assert main(args) != 0
    assert "full refresh: 0 of 1 hour(s) rebuilt; the others keep their previous rows" in (
        capsys.readouterr().err
    )
    assert gold_rows(db) == before


def test_a_range_left_with_rows_the_export_no_longer_has_says_so(db, source, capsys):
    write_workbook(source, PURCHASES, SPINS)
    assert main(["backfill", "--start", "2022-04-01T22", "--stop", "2022-04-01T23"]) == 0
    # re-exported: 22:00's first purchase corrected, and a purchase of 23:00 added
    corrected = [(PURCHASES[0][0], PURCHASES[0][1], "PriceInUSD=0.50", PURCHASES[0][3])]
    late = [
        *corrected,
        *PURCHASES[1:],
        (H23 + timedelta(minutes=2), "U3", "PriceInUSD=1.00", tx(4)),
    ]
    write_workbook(source, late, [*SPINS, (H23, "U3", "US", 1)])
    capsys.readouterr()
    assert main(["backfill", "--start", "2022-04-01T22", "--stop", "2022-04-02T00"]) == 0
    err = capsys.readouterr().err
    # 22:00 was complete (not rebuilt); 23:00 was built from the new export
    assert "note: 1 interval(s) of [2022-04-01T22, 2022-04-02T00) were loaded from exports" in err
    assert "playstudio-luigi reconcile --start 2022-04-01T22 --stop 2022-04-02T00" in err
    capsys.readouterr()
    assert main(["reconcile", "--start", "2022-04-01T22", "--stop", "2022-04-02T00"]) == 0
    assert main(["backfill", "--start", "2022-04-01T22", "--stop", "2022-04-02T00"]) == 0
    assert "note:" not in capsys.readouterr().err


def scalar(dsn: str, query: str) -> object:
    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def count_gold_rows(dsn: str) -> int:
    return scalar(dsn, "select count(*) from gold.aggregated_final_table")


def last_gold_marker(dsn: str) -> dt:
    return scalar(
        dsn, "select max(completed_at) from ops.task_markers where task_family = 'GoldAggregate'"
    )


def test_full_refresh_through_luigid_right_after_a_backfill(warehouse, tmp_path):
    """Before: luigid took the refreshed days for done (its 10 s done cooldown), nothing was
    rebuilt, exit 1 and an empty range."""
    cli = str(Path(sys.executable).parent / "playstudio-luigi")
    env = {
        **os.environ,
        "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE),
        "PLAYSTUDIO_HOME": str(tmp_path / "home"),
    }
    with start_luigid(tmp_path / "luigid") as server:
        scheduler = ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(server.port)]
        span = ["--start", "2022-04-01T20", "--stop", "2022-04-02T02"]
        first = subprocess.run(
            [cli, "backfill", *span, *scheduler], env=env, cwd=tmp_path, capture_output=True
        )
        assert first.returncode == 0, first.stderr.decode()[-2000:]
        built = count_gold_rows(warehouse)
        assert built > 0
        first_built = last_gold_marker(warehouse)
        fewest = [built]
        refresh = subprocess.Popen(
            [cli, "backfill", "--full-refresh", *span, *scheduler],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.PIPE,
        )
        while refresh.poll() is None:
            fewest.append(count_gold_rows(warehouse))
            time.sleep(0.05)
        assert refresh.returncode == 0, refresh.stderr.read().decode()[-2000:]
    assert min(fewest) == built, "the range was never emptier than before the refresh"
    connection = psycopg2.connect(warehouse)
    try:
        after = table_rows(connection, "gold.aggregated_final_table", GOLD_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                "select count(*) from ops.task_markers where task_family = 'GoldAggregate'"
                " and completed_at > %s",
                (first_built,),
            )
            assert cursor.fetchone()[0] == 6  # every hour rebuilt
        reset_warehouse(connection)
    finally:
        connection.close()
    clean = subprocess.run([cli, "backfill", *span], env=env, cwd=tmp_path, capture_output=True)
    assert clean.returncode == 0
    connection = psycopg2.connect(warehouse)
    try:
        assert table_rows(connection, "gold.aggregated_final_table", GOLD_COLUMNS) == after
    finally:
        connection.close()


def test_reconcile_through_luigid_right_after_the_hourly_job(warehouse, tmp_path):
    """Before: the cron Reconcile yielded HourlyPipeline tasks that luigid had seen done
    seconds before; it took them for done and the corrected hour was never rebuilt."""
    source = tmp_path / "export.xlsx"
    write_workbook(source, PURCHASES, SPINS)
    luigi_bin = str(Path(sys.executable).parent / "luigi")
    env = {**os.environ, "PLAYSTUDIO_SOURCE": str(source), "PLAYSTUDIO_HOME": str(tmp_path / "h")}
    with start_luigid(tmp_path / "luigid") as server:
        scheduler = ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(server.port)]
        hourly = [luigi_bin, "--module", "playstudio_luigi", "HourlyPipeline", "--hour"]
        done = subprocess.run(
            [*hourly, "2022-04-01T22", *scheduler], env=env, cwd=tmp_path, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        late = (H22 + timedelta(minutes=50), "U2", "PriceInUSD=19.99", tx(5))
        write_workbook(source, [*PURCHASES, late], SPINS)
        # The window reaches back to 2022 from today.
        hours_back = int((dt.now() - H22).total_seconds() // 3600) + 2
        reconcile_job = [luigi_bin, "--module", "playstudio_luigi", "Reconcile"]
        fixed = subprocess.run(
            [*reconcile_job, "--hours-back", str(hours_back), *scheduler],
            env=env,
            cwd=tmp_path,
            capture_output=True,
        )
        assert fixed.returncode == 0, fixed.stderr.decode()[-2000:]
    connection = psycopg2.connect(warehouse)
    try:
        rows = {(r[0], r[1]): r for r in gold_rows(connection)}
    finally:
        connection.close()
    assert rows[(H22, "U2")][4:6] == (Decimal("21.98"), 2)
