"""Silver: typed, deduplicated rows, built from bronze with set-based SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import luigi
import psycopg2.extensions
from psycopg2 import sql

from playstudio_luigi.db import markers, models
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.locks import ExclusiveDaysNeeded, held_exclusively, lock_day
from playstudio_luigi.intervals import floor_day, floor_to, starts_between
from playstudio_luigi.quality.checks import CheckResult, run_checks
from playstudio_luigi.tasks.base import (
    FiveMinuteTask,
    HourTask,
    IntervalTask,
    Written,
    downstream_of,
)
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
    """``silver.silver_purchases`` for one 5-minute interval: one row per transaction_id.

    A transaction's row is its first copy over all of bronze (``sql/silver/silver_purchases.sql``),
    which may lie in another interval: the run rewrites every transaction its intervals touch,
    wherever the row is filed, so the result does not depend on which files or intervals came
    first. Where that changes rows filed under other intervals ("foreign" ones), what was built
    from them (gold's hours) is stale: the run removes those markers in its own transaction, so
    the next run rebuilds them, and therefore takes those days' change lock exclusively (found
    by :meth:`prepare`, checked again once the locks are held: see :meth:`IntervalTask._run`).
    """

    model = models.SILVER_PURCHASES
    reads = ("bronze.bronze_purchases",)

    def requires(self) -> luigi.Task:
        return LoadBronzePurchases(interval=self.interval)

    #: Runs of more intervals than this do not preview their foreign days: for a day of
    #: intervals the preview costs as much as the write (about 0.4 s for 17,280 purchases), and
    #: a bulk run rarely has any (a day loaded after the days before it moves nothing out of
    #: them). Its write finds them under the locks, and the run is retried once with them.
    preview_max_intervals: ClassVar[int] = 12

    def prepare(self, starts: Sequence[datetime]) -> frozenset[datetime]:
        """The days of the foreign intervals whose rows the run would change now."""
        if len(starts) > self.preview_max_intervals:
            return frozenset()
        with transaction() as connection, connection.cursor() as cursor:
            changes = models.preview_changes(cursor, self.model, starts)
        return frozenset(floor_day(start) for start in changes.outside(starts))

    def exclusive_days(
        self, starts: Sequence[datetime], prepared: frozenset[datetime]
    ) -> set[datetime]:
        return set(prepared)

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        lock_days(cursor, starts)
        # A first load: one plain insert. Otherwise (rows filed here, a key already loaded)
        # the changes are staged, and applied once their foreign days are locked.
        inserted = models.insert_new(cursor, self.model, starts)
        changes = (
            inserted if inserted is not None else models.stage_changes(cursor, self.model, starts)
        )
        foreign = changes.outside(starts)
        days = {floor_day(start) for start in foreign}
        missing = days - held_exclusively(cursor, days)
        if missing:  # rolls back what insert_new wrote too
            raise ExclusiveDaysNeeded(missing)
        if inserted is None:
            models.apply_changes(cursor, self.model, changes)
        written = silver_rows(cursor, self.model, starts)
        if foreign:
            # The foreign intervals' markers keep counting their rows; what was built from
            # those rows is stale.
            recount = silver_rows(cursor, self.model, sorted(foreign)).details
            markers.update_details(cursor, self.marker_family(), recount)
            last = written.details[starts[-1]]
            last["foreign_intervals"] = len(foreign)
            last["stale_markers_removed"] = self._forget_downstream(cursor, foreign)
        return written

    def _forget_downstream(self, cursor: psycopg2.extensions.cursor, foreign: set[datetime]) -> int:
        """Remove the markers of what was built from the foreign intervals' rows (gold's hours,
        by the graph in force); how many there were. The caller holds those days' change lock
        exclusively."""
        forget: dict[str, set[datetime]] = {}
        for task in downstream_of(type(self)):
            for start in foreign:
                forget.setdefault(task.marker_family(), set()).update(
                    starts_between(floor_to(start, task.width), start + self.width, task.width)
                )
        return markers.remove_markers(cursor, forget) if forget else 0


class SilverSpins(SilverTask, HourTask):
    """``silver.silver_spins_hourly`` for one hour: spins summed per (hour, user, country)."""

    model = models.SILVER_SPINS
    reads = ("bronze.bronze_spins_hourly",)

    def requires(self) -> luigi.Task:
        return LoadBronzeSpins(hour=self.hour)
