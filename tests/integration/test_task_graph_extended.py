"""The task graph is declared once: a layer added to it (here, only in this test) is run by
DayPipeline, counted by "complete", reported by status, and removed by invalidate, with no
other edit anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2.extensions
import pytest

from playstudio_luigi import DayPipeline, GoldAggregate
from playstudio_luigi.db import markers
from playstudio_luigi.intervals import utcnow
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.reports.status import coverage_status
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import HourTask, Written
from playstudio_luigi.testing import pipeline_tables, run, table_rows, write_workbook

pytestmark = pytest.mark.integration

H22 = datetime(2022, 4, 1, 22)
HOURS = [H22, H22 + timedelta(hours=1)]
TX_TAIL = "0000-4000-8000-000000000000"


class UsersPerHour(HourTask):
    """A layer downstream of gold that only this test declares: users per hour."""

    layer = "platinum"
    reads = ("gold.aggregated_final_table",)
    writes = ("gold.test_users_per_hour",)
    interval_column = "app_hour"

    def requires(self) -> GoldAggregate:
        return GoldAggregate(hour=self.hour)

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        cursor.execute(
            "delete from gold.test_users_per_hour where app_hour = any(%s::timestamp[])",
            (list(starts),),
        )
        cursor.execute(
            "insert into gold.test_users_per_hour select app_hour, count(*)"
            " from gold.aggregated_final_table where app_hour = any(%s::timestamp[]) group by 1"
            " returning app_hour, users",
            (list(starts),),
        )
        users = dict(cursor.fetchall())
        return Written({start: {"users": users.get(start, 0)} for start in starts})


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    purchases = [
        (
            H22 + timedelta(minutes=7 * i),
            f"U{i % 4}",
            "PriceInUSD=2.50",
            f"{i:08d}-0000-4000-8000-000000000000",
        )
        for i in range(17)
    ]
    spins = [(hour, f"U{u}", "US", 3 + u) for hour in HOURS for u in range(3)]
    path = write_workbook(tmp_path / "w.xlsx", purchases, spins)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


@pytest.fixture
def extra_table(db):
    with db.cursor() as cursor:
        cursor.execute(
            "create table gold.test_users_per_hour (app_hour timestamp primary key, users int)"
        )
    return "gold.test_users_per_hour"


def users(db) -> list[tuple]:
    return table_rows(db, "gold.test_users_per_hour", ["app_hour", "users"])


def gold_users(db) -> list[tuple]:
    with db.cursor() as cursor:
        cursor.execute(
            "select app_hour, count(*)::int from gold.aggregated_final_table group by 1 order by 1"
        )
        return cursor.fetchall()


def platinum(db) -> list:
    status = coverage_status(db, HOURS[0], HOURS[-1] + timedelta(hours=1), since=utcnow())
    return [item for item in status.coverage if item.layer == "platinum"]


def test_an_added_layer_is_run_completed_reported_and_invalidated(db, source, extra_table):
    day = DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=24)
    assert run([day])  # the package's graph: built and complete without the new layer
    assert users(db) == []
    with graph.extended(UsersPerHour) as extended:
        assert UsersPerHour in extended.from_layer("gold")
        assert extended.layers == ["bronze", "silver", "gold", "platinum"]
        assert (extended_table := extra_table) in pipeline_tables()
        # "complete" now includes the new layer: the day is not complete until it ran.
        assert not day.complete()
        assert [item.done for item in platinum(db)] == [0]
        assert run([DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=24)])
        assert users(db) == gold_users(db) and len(users(db)) == 2
        assert markers.completed_starts("UsersPerHour", HOURS) == set(HOURS)
        assert day.complete()
        (item,) = platinum(db)
        assert (item.family, item.done, item.expected) == ("UsersPerHour", 2, 2)
        # Invalidating gold removes the layer downstream of it too (its markers: the rows
        # stay until the rebuild replaces them).
        before = users(db)
        invalidate_range(HOURS[0], HOURS[-1] + timedelta(hours=1), "gold")
        assert users(db) == before
        assert markers.completed_starts("UsersPerHour", HOURS) == set()
        assert [item.done for item in platinum(db)] == [0]
        assert run([DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=24)])
        assert users(db) == gold_users(db)
    # Back to the package's graph: the extra layer is not part of it.
    assert UsersPerHour not in graph.current().tasks
    assert extended_table not in pipeline_tables()
    assert platinum(db) == []
