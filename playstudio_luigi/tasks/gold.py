"""Gold: ``gold.aggregated_final_table``, hourly metrics per user with the daily revenue."""

from __future__ import annotations

from typing import Any

import luigi
import psycopg2.extensions

from playstudio_luigi.checks import CheckResult, run_checks
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import five_minute_starts, floor_day
from playstudio_luigi.tasks.base import HourTask
from playstudio_luigi.tasks.silver import SilverPurchases, SilverSpins


class GoldAggregate(HourTask):
    """Upsert one hour of gold and refresh ``total_revenue_per_user_daily`` for its whole day.

    Requires the hour's silver spins and the silver purchases of its twelve 5-minute intervals.
    """

    reads = ("silver.silver_spins_hourly", "silver.silver_purchases")
    writes = ("gold.aggregated_final_table",)

    def requires(self) -> list[luigi.Task]:
        return [SilverSpins(hour=self.hour)] + [
            SilverPurchases(interval=start) for start in five_minute_starts(self.hour)
        ]

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        day = floor_day(self.window.start)
        # Gold tasks of one day run one at a time (the last to commit computes the daily totals
        # from every silver row the earlier ones depended on), and no silver load of the day
        # commits between the refresh and its checks.
        lock_day(cursor, day, shared=False)
        cursor.execute(render("gold/aggregated_final_table.sql"), {"hour": self.window.start})
        gold_rows = cursor.rowcount
        cursor.execute(render("gold/daily_refresh.sql"), {"day": day})
        return {"gold_rows": gold_rows, "daily_rows_refreshed": cursor.rowcount}

    def check(self, cursor: psycopg2.extensions.cursor) -> list[CheckResult]:
        params = {"hour": self.window.start, "day": floor_day(self.window.start)}
        return run_checks(cursor, "gold", params)
