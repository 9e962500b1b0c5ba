"""Silver: typed, deduplicated rows, built from bronze with set-based SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import luigi
import psycopg2.extensions
from psycopg2 import sql

from playstudio_luigi.db import models
from playstudio_luigi.db.locks import lock_day
from playstudio_luigi.intervals import floor_day
from playstudio_luigi.quality.checks import CheckResult, run_checks
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, IntervalTask, Written
from playstudio_luigi.tasks.bronze import LoadBronzePurchases, LoadBronzeSpins


def lock_days(cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]) -> None:
    for day in sorted({floor_day(start) for start in starts}):
        lock_day(cursor, day, shared=True)


def silver_rows(
    cursor: psycopg2.extensions.cursor, model: models.Model, starts: Sequence[datetime]
) -> Written:
    """Marker details: how many rows of the model's table each interval now has."""
    cursor.execute(
        sql.SQL(
            "select {key}, count(*) from {table} where {key} = any(%s::timestamp[]) group by {key}"
        ).format(
            key=sql.Identifier(model.interval_column),
            table=sql.Identifier(*model.target.split(".")),
        ),
        (list(starts),),
    )
    counts = dict(cursor.fetchall())
    return Written({start: {"silver_rows": counts.get(start, 0)} for start in starts})


class SilverTask(IntervalTask):
    """One silver table (``model``), rebuilt for a set of intervals from bronze, and checked
    by the SQL checks named after the table (``sql/checks/<table>/``)."""

    layer = "silver"
    model: ClassVar[models.Model]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            cls.writes = (cls.model.target,)
            cls.interval_column = cls.model.interval_column

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        lock_days(cursor, starts)
        models.materialize(cursor, self.model, starts)
        return silver_rows(cursor, self.model, starts)

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        layer = self.model.target.split(".")[1]
        return run_checks(cursor, layer, {self.model.interval_param: list(starts)})


class SilverPurchases(SilverTask, FiveMinuteTask):
    """``silver.silver_purchases`` for one 5-minute interval: one row per transaction_id."""

    model = models.SILVER_PURCHASES
    reads = ("bronze.bronze_purchases",)

    def requires(self) -> luigi.Task:
        return LoadBronzePurchases(interval=self.interval)


class SilverSpins(SilverTask, HourTask):
    """``silver.silver_spins_hourly`` for one hour: spins summed per (hour, user, country)."""

    model = models.SILVER_SPINS
    reads = ("bronze.bronze_spins_hourly",)

    def requires(self) -> luigi.Task:
        return LoadBronzeSpins(hour=self.hour)
