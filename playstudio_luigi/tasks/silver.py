"""Silver: typed, deduplicated rows, built from bronze with set-based SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import luigi
import psycopg2.extensions
from psycopg2 import sql

from playstudio_luigi.db import models
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.intervals import floor_day
from playstudio_luigi.quality.checks import CheckResult, run_checks
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, Written
from playstudio_luigi.tasks.bronze import LoadBronzePurchases, LoadBronzeSpins


def lock_days(cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]) -> None:
    for day in sorted({floor_day(start) for start in starts}):
        lock_day(cursor, day, shared=True)


def silver_rows(
    cursor: psycopg2.extensions.cursor, table: str, key: str, starts: Sequence[datetime]
) -> Written:
    """Marker details: how many rows of ``silver.<table>`` each interval (``key``) now has."""
    cursor.execute(
        sql.SQL(
            "select {key}, count(*) from silver.{table} where {key} = any(%s::timestamp[])"
            " group by {key}"
        ).format(key=sql.Identifier(key), table=sql.Identifier(table)),
        (list(starts),),
    )
    counts = dict(cursor.fetchall())
    return Written({start: {"silver_rows": counts.get(start, 0)} for start in starts})


class SilverPurchases(FiveMinuteTask):
    """``silver.silver_purchases`` for one 5-minute interval: one row per transaction_id."""

    layer = "silver"
    reads = ("bronze.bronze_purchases",)
    writes = ("silver.silver_purchases",)

    def requires(self) -> luigi.Task:
        return LoadBronzePurchases(interval=self.interval)

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        lock_days(cursor, starts)
        models.materialize(cursor, models.SILVER_PURCHASES, starts)
        return silver_rows(cursor, "silver_purchases", "interval_start", starts)

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        return run_checks(cursor, "silver_purchases", {"starts": list(starts)})


class SilverSpins(HourTask):
    """``silver.silver_spins_hourly`` for one hour: spins summed per (hour, user, country)."""

    layer = "silver"
    reads = ("bronze.bronze_spins_hourly",)
    writes = ("silver.silver_spins_hourly",)
    interval_column = "app_hour"

    def requires(self) -> luigi.Task:
        return LoadBronzeSpins(hour=self.hour)

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        lock_days(cursor, starts)
        models.materialize(cursor, models.SILVER_SPINS, starts)
        return silver_rows(cursor, "silver_spins_hourly", "app_hour", starts)

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        return run_checks(cursor, "silver_spins_hourly", {"hours": list(starts)})
