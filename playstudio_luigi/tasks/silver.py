"""Silver: typed, deduplicated rows, built from bronze with set-based SQL."""

from __future__ import annotations

from typing import Any

import luigi
import psycopg2.extensions

from playstudio_luigi.checks import CheckResult, run_checks
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import floor_day
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.tasks.bronze import LoadBronzePurchases, LoadBronzeSpins


class SilverPurchases(FiveMinuteTask):
    """``silver.silver_purchases`` for one 5-minute interval: one row per transaction_id."""

    reads = ("bronze.bronze_purchases",)
    writes = ("silver.silver_purchases",)

    def requires(self) -> luigi.Task:
        return LoadBronzePurchases(interval=self.interval)

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        lock_day(cursor, floor_day(self.window.start), shared=True)
        cursor.execute(render("silver/silver_purchases.sql"), {"interval_start": self.window.start})
        cursor.execute(
            "select count(*) from silver.silver_purchases where interval_start = %s",
            (self.window.start,),
        )
        return {"silver_rows": cursor.fetchone()[0]}

    def check(self, cursor: psycopg2.extensions.cursor) -> list[CheckResult]:
        params = {"interval_start": self.window.start, "interval_end": self.window.end}
        return run_checks(cursor, "silver_purchases", params)


class SilverSpins(HourTask):
    """``silver.silver_spins_hourly`` for one hour: spins summed per (hour, user, country)."""

    reads = ("bronze.bronze_spins_hourly",)
    writes = ("silver.silver_spins_hourly",)

    def requires(self) -> luigi.Task:
        return LoadBronzeSpins(hour=self.hour)

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        lock_day(cursor, floor_day(self.window.start), shared=True)
        cursor.execute(render("silver/silver_spins_hourly.sql"), {"hour": self.window.start})
        return {"silver_rows": cursor.rowcount}

    def check(self, cursor: psycopg2.extensions.cursor) -> list[CheckResult]:
        return run_checks(cursor, "silver_spins_hourly", {"hour": self.window.start})
