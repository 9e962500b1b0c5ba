"""Gold: ``gold.aggregated_final_table``, hourly metrics per user with the daily revenue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import luigi
import psycopg2.extensions

from playstudio_luigi.db import models
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import ONE_DAY, five_minute_starts, floor_day
from playstudio_luigi.quality.checks import CheckResult, run_checks
from playstudio_luigi.tasks.base import HourTask, Written, analyze
from playstudio_luigi.tasks.silver import SilverPurchases, SilverSpins


class GoldAggregate(HourTask):
    """Upsert one hour of gold and refresh ``total_revenue_per_user_daily`` for its whole day.

    Requires the hour's silver spins and the silver purchases of its twelve 5-minute intervals.
    """

    layer = "gold"
    reads = ("silver.silver_spins_hourly", "silver.silver_purchases")
    writes = ("gold.aggregated_final_table",)
    interval_column = "app_hour"

    def requires(self) -> list[luigi.Task]:
        return [SilverSpins(hour=self.hour)] + [
            SilverPurchases(interval=start) for start in five_minute_starts(self.hour)
        ]

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        # Gold tasks of one day run one at a time (the last to commit computes the daily totals
        # from every silver row the earlier ones depended on), and no silver load of the day
        # commits between the refresh and its checks.
        for day in days_of(starts):
            lock_day(cursor, day, shared=False)
        days = day_params(starts)
        inserted = models.materialize(cursor, models.GOLD, starts, **days)
        gold_rows = Counter(hour for (hour,) in inserted)
        if len(starts) > 1:
            # the daily refresh joins the rows just inserted
            analyze(cursor, self.writes, gold_rows.total())
        cursor.execute(render("gold/daily_refresh.sql"), days)
        refreshed = cursor.rowcount
        details = {start: {"gold_rows": gold_rows.get(start, 0)} for start in starts}
        details[starts[-1]]["daily_rows_refreshed"] = refreshed
        return Written(details)

    def analyze_written(self, cursor: psycopg2.extensions.cursor, rows_written: int) -> None:
        """Nothing more: :meth:`write` analysed its rows before the daily refresh read them."""

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        return run_checks(cursor, "gold", {"hours": list(starts), **day_params(starts)})


def days_of(starts: Sequence[datetime]) -> list[datetime]:
    return sorted({floor_day(start) for start in starts})


def day_params(starts: Sequence[datetime]) -> dict[str, Any]:
    """The UTC days ``[days_from, days_to)`` that ``starts`` touch (contiguous in practice; a
    gap day would only be refreshed and checked too, which is harmless)."""
    days = days_of(starts)
    return {"days_from": days[0], "days_to": days[-1] + ONE_DAY}
