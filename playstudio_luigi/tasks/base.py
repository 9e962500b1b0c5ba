"""Base classes: Luigi tasks keyed by one interval, writing data and marker in one transaction.

Template method, as Luigi's ``CopyToTable``: :meth:`IntervalTask.run` checks the interval is
closed, calls :meth:`prepare` outside any transaction (slow work such as parsing), then opens
one transaction, takes an advisory lock for (task family, interval), returns early if a
concurrent run already wrote the marker, calls :meth:`write` (which replaces this interval's
rows) and writes the marker. Commit makes data and marker visible together; any error rolls
both back. Re-running, killing or racing a task therefore never loses or duplicates a row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import luigi
import psycopg2.extensions

from playstudio_luigi import config, intervals
from playstudio_luigi.checks import CheckFailedError, CheckResult, record_results
from playstudio_luigi.db import markers
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.intervals import (
    Interval,
    ensure_closed,
    five_minute_interval,
    hour_interval,
    is_closed,
)
from playstudio_luigi.runs import TaskRun, record_failure, report_progress

logger = logging.getLogger("luigi-interface")


def _lock_keys(family: str, start: datetime) -> tuple[str, int]:
    # Two int4 keys: hashtext(family) and minutes since the epoch (fits in int4 until 6053).
    return family, int((start - datetime(1970, 1, 1)).total_seconds() // 60)


class IntervalTask(luigi.Task):
    """A task keyed by one UTC interval whose output is its row in ``ops.task_markers``."""

    #: Marker family that says this task is complete (a pipeline uses its last task's family).
    completion_family: ClassVar[str | None] = None
    #: What the task reads (``schema.table``, or ``sheet:<name>`` for a source sheet) and the
    #: tables it writes, next to the SQL that does it: the data docs draw table lineage from it.
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    @property
    def window(self) -> Interval:
        """The interval ``[start, end)`` this task covers."""
        raise NotImplementedError

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        """The interval start for a value of the task's interval parameter."""
        raise NotImplementedError

    @classmethod
    def marker_family(cls) -> str:
        return cls.completion_family or cls.get_task_family()

    def output(self) -> markers.MarkerTarget:
        return markers.MarkerTarget(self.marker_family(), self.window.start)

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        raise NotImplementedError

    @classmethod
    def bulk_complete(cls, parameter_tuples: Iterable[Any]) -> list[Any]:
        """Which of these intervals need no run now, answered with one query (for Range tools).

        Completed intervals, and those not closed yet (their end plus the allowed lateness is
        still ahead): Range tools then schedule only closed intervals, and pick the others up
        on a later run. Range tools call this with ``functools.partial(cls, **of_params)``.
        """
        task_cls = getattr(cls, "func", cls)
        values = list(parameter_tuples)
        starts = {value: task_cls.interval_start_of(value) for value in values}
        done = markers.completed_starts(task_cls.marker_family(), set(starts.values()))
        now, lateness = intervals.utcnow(), config.allowed_lateness()
        return [
            value
            for value in values
            if starts[value] in done
            or not is_closed(task_cls.window_of(starts[value]), now, lateness)
        ]

    # Hooks -------------------------------------------------------------------------------

    def prepare(self) -> Any:
        """Work done before the transaction opens (reading, parsing). Returns the payload."""
        return None

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        """Replace this interval's rows inside the task's transaction; return marker details."""
        raise NotImplementedError

    def source_sha256(self, prepared: Any) -> str | None:
        return None

    def check(self, cursor: psycopg2.extensions.cursor) -> list[CheckResult]:
        """Data checks on what :meth:`write` just wrote, inside the same transaction."""
        return []

    # Template ----------------------------------------------------------------------------

    def ensure_closed(self, now: datetime | None = None) -> None:
        ensure_closed(
            self.window,
            now or intervals.utcnow(),
            config.allowed_lateness(),
            self.get_task_family(),
        )

    def run(self) -> None:
        run = TaskRun(self.task_id, self.get_task_family(), self.window.start)
        try:
            self._run(run)
        except Exception as error:
            record_failure(run, error)
            raise

    def _run(self, run: TaskRun) -> None:
        self.ensure_closed()
        report_progress(self, f"{self.window}: reading", 0)
        prepared = self.prepare()
        family = self.marker_family()
        report_progress(self, f"{self.window}: writing", 50)
        try:
            with transaction() as connection, connection.cursor() as cursor:
                cursor.execute(
                    "select pg_advisory_xact_lock(hashtext(%s), %s)",
                    _lock_keys(family, self.window.start),
                )
                if markers.marker_in_transaction(cursor, family, self.window.start):
                    logger.info("%s: already completed by a concurrent run", self.task_id)
                    run.record(cursor, "skipped")
                    return
                details = self.write(cursor, prepared)
                results = self.check(cursor)
                self.record_checks(cursor, results)
                if any(result.blocking for result in results):
                    raise CheckFailedError(self.task_id, results)
                sha = self.source_sha256(prepared)
                markers.write_marker(cursor, family, self.window.start, self.task_id, sha, details)
                run.record(cursor, "done", details, sha)
        except CheckFailedError as failure:
            # The data rolled back; the evidence of why must not.
            with transaction() as connection, connection.cursor() as cursor:
                self.record_checks(cursor, failure.results)
            raise
        report_progress(self, f"{self.window}: done, {_summary(details)}", 100)

    def record_checks(self, cursor: psycopg2.extensions.cursor, results: list[CheckResult]) -> None:
        record_results(cursor, results, self.task_id, self.get_task_family(), self.window.start)


def _summary(details: dict[str, Any]) -> str:
    return (
        ", ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in details.items()
            if isinstance(value, int)
        )
        or "no rows"
    )


class FiveMinuteTask(IntervalTask):
    """Keyed by ``interval``: covers event times in [interval, interval + 5 min)."""

    interval = luigi.DateMinuteParameter(
        interval=5,
        description="Start of the 5-minute interval, UTC, e.g. 2022-04-01T2205 (inclusive; "
        "the interval ends 5 minutes later, exclusive).",
    )

    @property
    def window(self) -> Interval:
        return five_minute_interval(self.interval)

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        return five_minute_interval(start)

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        return five_minute_interval(value.replace(minute=value.minute - value.minute % 5)).start


class HourTask(IntervalTask):
    """Keyed by ``hour``: covers event times in [hour, hour + 1 h)."""

    hour = luigi.DateHourParameter(
        description="The UTC hour, e.g. 2022-04-01T22 (inclusive; ends one hour later, exclusive)."
    )

    @property
    def window(self) -> Interval:
        return hour_interval(self.hour)

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        return hour_interval(start)

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        return hour_interval(value.replace(minute=0, second=0, microsecond=0)).start
