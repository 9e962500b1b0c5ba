"""DayPipeline: a day in bulk writes exactly what the per-interval tasks write, markers included;
a bad interval fails alone; Range tools and cron see the same completeness."""

from __future__ import annotations

from datetime import date, timedelta
from datetime import datetime as dt
from pathlib import Path

import luigi
import pytest
from source_rows import tx

from playstudio_luigi import DayPipeline, FiveMinutePipeline, HourlyPipeline, RangeDaily
from playstudio_luigi.db import markers
from playstudio_luigi.db.connection import connect
from playstudio_luigi.tasks.batch import day_tasks
from playstudio_luigi.testing import run, table_rows, write_workbook

pytestmark = pytest.mark.integration

H22 = dt(2022, 4, 1, 22)


@pytest.fixture
def two_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clean purchases and spins over 22:00-24:00, except 22:20, which is mostly garbage."""
    rows = [(H22 + timedelta(minutes=m), f"U{m % 3}", "PriceInUSD=1.00", tx(m)) for m in range(120)]
    rows += [(H22 + timedelta(minutes=20, seconds=s), "U1", "1.00", tx(500 + s)) for s in range(30)]
    spins = [(H22 + timedelta(hours=h), f"U{u}", "US", 10 + u) for h in (0, 1) for u in range(3)]
    path = write_workbook(tmp_path / "w.xlsx", rows, spins)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


def test_a_bad_interval_fails_alone_and_the_rest_of_the_day_loads(db, two_hours):
    task = DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=24)
    assert not run([task])
    bad = H22 + timedelta(minutes=20)
    starts = [H22 + timedelta(minutes=5 * i) for i in range(24)]
    silver = markers.completed_starts("SilverPurchases", starts)
    assert silver == set(starts) - {bad}
    # Gold for the healthy hour only: 22:00 waits for its 22:20 interval.
    assert markers.completed_starts("GoldAggregate", [H22, H22 + timedelta(hours=1)]) == {
        H22 + timedelta(hours=1)
    }
    with db.cursor() as cursor:
        cursor.execute("select count(*) from ops.quarantine where interval_start = %s", (bad,))
        assert cursor.fetchone() == (0,), "the refused interval wrote nothing"
        cursor.execute(
            "select status, error from ops.task_runs where task_family = 'ValidatePurchases'"
            " and interval_start = %s",
            (bad,),
        )
        status, error = cursor.fetchone()
        assert status == "failed" and "22:20" in error and "max_reject_ratio" in error
        cursor.execute(
            "select interval_start, interval_starts from ops.check_results"
            " where check_name = 'reject_ratio' and status = 'fail'",
        )
        # The batch's attempt and the retry of the interval alone: each files its verdict
        # under the interval it judged (the batch's used to land on 22:00, its first).
        assert cursor.fetchall() == [(bad, [bad]), (bad, [bad])]
    # Every marker names the day's run; cron's tasks see the healthy intervals as complete.
    assert FiveMinutePipeline(interval=H22).complete()
    assert not FiveMinutePipeline(interval=bad).complete()
    assert HourlyPipeline(hour=H22 + timedelta(hours=1)).complete()


def test_bulk_and_per_interval_give_identical_rows_and_markers(
    fresh_database, tmp_path, monkeypatch
):
    purchases = [
        (H22 + timedelta(seconds=53 * i), f"U{i % 9}", f"PriceInUSD={1 + i % 7}.99", tx(i))
        for i in range(270)
    ]
    purchases += [purchases[10], purchases[11]]  # exact copies, same interval
    purchases += [(H22 + timedelta(hours=2), "U1", "PriceInUSD=5.00", tx(3))]  # id seen before
    purchases += [(H22 + timedelta(hours=1, minutes=m), "U2", "PriceInEUR=1", tx(900 + m))
                  for m in (7, 33)]  # fmt: skip
    spins = [(H22 + timedelta(hours=h), f"U{u}", ("US", "CA")[u % 2], 5 * u + h)
             for h in range(4) for u in range(9)]  # fmt: skip
    spins += [(H22 + timedelta(hours=1), "U1", "GB", 40), (H22, "U3", "ZZZ", 1)]
    source = write_workbook(tmp_path / "s.xlsx", purchases, spins)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
    hours = [H22 + timedelta(hours=i) for i in range(4)]  # crosses midnight
    tables = {
        "staging.extract_purchases": ["interval_start", "source_row"],
        "ops.quarantine": ["interval_start", "sheet", "source_row", "reasons"],
        "ops.interval_loads": ["sheet", "interval_start", "source_rows", "loaded_rows"],
        "bronze.bronze_purchases": ["interval_start", "source_row", "transaction_id"],
        "bronze.bronze_spins_hourly": ["interval_start", "source_row", "total_spins"],
        "silver.silver_purchases": ["transaction_id", "interval_start", "source_copies"],
        "silver.silver_spins_hourly": ["app_hour", "user_id", "country", "total_spins"],
        "gold.aggregated_final_table": [
            "app_hour", "user_id", "country", "total_spins_hourly", "total_revenue_hourly",
            "amount_purchases_hourly", "total_revenue_per_user_daily",
        ],
    }  # fmt: skip

    def build(tasks: list[luigi.Task], home: Path) -> dict:
        with fresh_database(home):
            assert run(tasks)
            connection = connect()
            try:
                found = {t: table_rows(connection, t, c) for t, c in tables.items()}
                details = table_rows(
                    connection, "ops.task_markers", ["task_family", "interval_start", "details"]
                )
            finally:
                connection.close()
        # How many daily totals one run refreshed is a statistic of the run, not data.
        found["refreshed"] = [
            d["daily_rows_refreshed"] for f, _, d in details if "daily_rows_refreshed" in d
        ]
        found["markers"] = [
            (f, s, sorted((k, v) for k, v in d.items() if k != "daily_rows_refreshed"))
            for f, s, d in details
        ]
        return found

    one_by_one = build([HourlyPipeline(hour=h) for h in hours], tmp_path / "a")
    in_bulk = build(day_tasks(hours), tmp_path / "b")
    assert one_by_one["gold.aggregated_final_table"], "the sample must reach gold"
    assert one_by_one["ops.quarantine"], "the sample must have rejected rows"
    # Gold rows are inserted with their day's revenue: a day in bulk corrects none afterwards;
    # an hour alone corrects the earlier hours of its day whose users bought in it.
    assert in_bulk.pop("refreshed") == [0, 0]
    assert sum(one_by_one.pop("refreshed")) > 0
    assert in_bulk == one_by_one


def test_range_daily_runs_whole_days_and_leaves_open_ones(db, two_hours):
    day = date(2022, 4, 1)
    assert DayPipeline.bulk_complete([day, date(2099, 1, 1)]) == [date(2099, 1, 1)]  # not due
    assert not run([RangeDaily(of=DayPipeline, start=day, stop=day + timedelta(days=1))])
    assert HourlyPipeline(hour=dt(2022, 4, 1, 3)).complete(), "an empty closed hour is loaded"
    assert not DayPipeline(day=day).complete(), "22:20 was refused"


def test_day_tasks_cover_exactly_the_hours():
    hours = [H22 + timedelta(hours=i) for i in range(5)] + [dt(2022, 4, 3, 5)]
    tasks = day_tasks(hours)
    assert [(t.day, t.from_hour, t.to_hour) for t in tasks] == [
        (date(2022, 4, 1), 22, 24),
        (date(2022, 4, 2), 0, 3),
        (date(2022, 4, 3), 5, 6),
    ]
    assert sorted(h for t in tasks for h in t.hours()) == sorted(hours)
    with pytest.raises(ValueError, match="from_hour"):
        DayPipeline(day=date(2022, 4, 1), from_hour=5, to_hour=5)
