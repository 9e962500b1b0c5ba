"""Base classes: Luigi tasks keyed by one interval, writing data and markers in one transaction.

Template method, as Luigi's ``CopyToTable``: :meth:`IntervalTask.run_intervals` checks the
intervals are closed, calls :meth:`prepare` outside any transaction (slow work such as parsing),
then opens one transaction in which it

1. takes the change lock of the days involved, shared (exclusive for the days
   :meth:`exclusive_days` names: a task that changes rows filed under other intervals
   removes the markers built from them), and its interval locks (see
   :mod:`playstudio_luigi.db.locks` for the order and why it cannot deadlock);
2. leaves out the intervals a concurrent run already completed;
3. re-checks that the markers of every input (what ``requires()`` returns) still exist: the
   scheduler checked them before ``run()``, but an ``invalidate``, ``reconcile`` or full
   refresh may have removed them since. An interval whose input is gone is not built (a task
   of one interval fails with :class:`UpstreamMissingError`; a bulk run leaves it for its next
   pass), never built from rows that are being replaced;
4. calls :meth:`write` (which replaces those intervals' rows), the checks, and writes one
   marker per interval.

Commit makes data and markers visible together; any error rolls all of them back. A write that
finds, once the locks are held, that it needs more days exclusively than :meth:`prepare` saw
(:class:`~playstudio_luigi.db.locks.ExclusiveDaysNeeded`), or whose staged changes no longer
fit (:class:`~playstudio_luigi.db.models.ConcurrentChangeError`), rolls back and runs the
transaction again with those days added, at most :data:`TRANSACTION_ATTEMPTS` times. Marker
removal takes the same days' change lock exclusively, so between step 3 and the commit no input
marker can disappear: an invalidation waits for the tasks in flight (and removes their markers
too), and tasks that start after it see their inputs gone. Re-running, killing or racing a task
therefore never loses or duplicates a row, and never leaves a marker over stale data.

Why locks rather than versioned markers (each marker recording the markers it was built from):
a task would then be complete only if its whole upstream chain is unchanged, which every
``complete()`` and ``bulk_complete`` (Range tools) would have to verify with a recursive query,
and a stale marker would still be written and then ignored. With the locks, a marker that
exists is right, and completeness stays one lookup.

A task run by Luigi covers its own interval. :class:`~playstudio_luigi.tasks.batch.DayPipeline`
runs the same hooks over many intervals at once (set-based SQL, one transaction per layer), and
writes the very markers the per-interval tasks look for: cron and bulk backfills interoperate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, ClassVar

import luigi
import psycopg2.extensions
from luigi.task import flatten
from psycopg2 import sql

from playstudio_luigi import config, intervals
from playstudio_luigi.alerts.handlers import report
from playstudio_luigi.db import markers
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.locks import ExclusiveDaysNeeded, lock_days_for_change, lock_intervals
from playstudio_luigi.db.models import ConcurrentChangeError
from playstudio_luigi.intervals import (
    FIVE_MINUTES,
    ONE_HOUR,
    Interval,
    ensure_closed,
    five_minute_interval,
    hour_interval,
)
from playstudio_luigi.quality.checks import CheckFailedError, CheckResult, record_results
from playstudio_luigi.source import catalog
from playstudio_luigi.source.schema import SheetLayout
from playstudio_luigi.tasks.parameters import StrictDateHourParameter, StrictDateMinuteParameter
from playstudio_luigi.tasks.runs import TaskRun, record_failure
from playstudio_luigi.tasks.status_messages import report_progress, summed_details

logger = logging.getLogger("luigi-interface")


@dataclass(frozen=True)
class Notice:
    """An alert about one interval, sent once the transaction that found it has committed."""

    interval_start: datetime
    event: str
    message: str
    error_type: str


@dataclass
class Written:
    """What :meth:`IntervalTask.write` produced.

    ``details``: the marker details of every interval start it wrote. ``findings``: check
    results it made while writing (ingest checks), recorded and judged with those of
    :meth:`IntervalTask.check`. ``notices``: alerts to send after the commit.
    """

    details: dict[datetime, dict[str, Any]]
    findings: list[CheckResult] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


#: What a committed run's transaction produced: what it wrote, the totals of its marker
#: details, the intervals left for a later pass (an input gone), their needs and what was there.
_Outcome = tuple[
    Written,
    dict[str, Any],
    list[datetime],
    dict[datetime, list[tuple[str, datetime]]],
    set[tuple[str, datetime]],
]

#: How many times a run's transaction is tried when its write keeps needing other locks.
TRANSACTION_ATTEMPTS = 5


class LockContentionError(RuntimeError):
    """Rows outside the run's intervals kept changing under it: nothing was written."""

    log_traceback = False


class UpstreamMissingError(RuntimeError):
    """An input's marker was removed (invalidate, reconcile, full refresh) between the
    scheduler's check and this task's transaction: the task wrote nothing for that interval,
    rather than build it from inputs that are gone or about to be rebuilt."""

    log_traceback = False  # the message says everything


#: Interval start of the reference instances the edges are read from (on the hour and on a
#: day boundary, so every width's interval starts there).
_REFERENCE = datetime(2000, 1, 1)


@cache
def _upstream_of(task: type[IntervalTask]) -> tuple[tuple[type[IntervalTask], timedelta], ...]:
    reference = task.at(_REFERENCE)
    return tuple(
        (type(required), required.window.start - _REFERENCE)
        for required in flatten(reference.requires())
        if isinstance(required, IntervalTask)
    )


@cache
def _source_layouts_of(task: type[IntervalTask]) -> tuple[SheetLayout, ...]:
    found = [] if task.source_layout is None else [task.source_layout]
    for required, _ in task.upstream():
        found += [layout for layout in _source_layouts_of(required) if layout not in found]
    return tuple(found)


#: What is downstream of a task class in the graph in force: installed by
#: :mod:`playstudio_luigi.tasks.graph`, which imports every task module (so none can import it).
_downstream: Callable[[type[IntervalTask]], Sequence[type[IntervalTask]]] | None = None


def install_downstream(
    downstream: Callable[[type[IntervalTask]], Sequence[type[IntervalTask]]],
) -> None:
    """Let tasks ask the task graph what is built from them (:func:`downstream_of`)."""
    global _downstream
    _downstream = downstream


def downstream_of(task: type[IntervalTask]) -> list[type[IntervalTask]]:
    """The tasks built from ``task``'s rows, directly or not (``task`` itself excluded)."""
    if _downstream is None:
        raise RuntimeError("the task graph is not loaded (playstudio_luigi.tasks.graph)")
    return [candidate for candidate in _downstream(task) if candidate is not task]


def _lock_key(start: datetime) -> int:
    # Minutes since the epoch: fits in int4 until 6053.
    return int((start - datetime(1970, 1, 1)).total_seconds() // 60)


class IntervalTask(luigi.Task):
    """A task keyed by one UTC interval whose output is its row in ``ops.task_markers``."""

    #: The task whose marker says this one is complete (a pipeline: its last task).
    completion: ClassVar[type[IntervalTask] | None] = None
    #: How long one interval is.
    width: ClassVar[timedelta]
    #: What the task reads (``schema.table``, or ``sheet:<name>`` for a source sheet) and the
    #: tables it writes, next to the SQL that does it: the data docs draw table lineage from it,
    #: and bulk runs analyse the written tables.
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    #: Column of the written tables that holds the interval start (invalidation deletes by it).
    interval_column: ClassVar[str] = "interval_start"
    #: Warehouse layer the task builds: ``bronze`` (extract, validate and load), ``silver``,
    #: ``gold``. ``invalidate --layer`` and ``status`` group tasks by it.
    layer: ClassVar[str]
    #: The source sheet a task reads directly (the extracts), or None.
    source_layout: ClassVar[SheetLayout | None] = None

    @classmethod
    def source_layouts(cls) -> tuple[SheetLayout, ...]:
        """The source sheets the task is built from, directly or through its inputs."""
        return _source_layouts_of(cls.completion or cls)

    @property
    def window(self) -> Interval:
        """The interval ``[start, end)`` this task covers."""
        return self.window_of(self._interval_value())

    def _interval_value(self) -> datetime:
        raise NotImplementedError

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        """The interval start for a value of the task's interval parameter."""
        raise NotImplementedError

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        raise NotImplementedError

    @classmethod
    def at(cls, start: datetime) -> IntervalTask:
        """The task of the interval starting at ``start``."""
        raise NotImplementedError

    @classmethod
    def marker_family(cls) -> str:
        return (cls.completion or cls).get_task_family()

    def output(self) -> markers.MarkerTarget:
        return markers.MarkerTarget(self.marker_family(), self.window.start)

    @classmethod
    def bulk_complete(cls, parameter_tuples: Iterable[Any]) -> list[Any]:
        """Which of these intervals need no run now, answered with one query (for Range tools).

        Completed intervals, and those the source does not cover yet (the watermark of a sheet
        they are built from has not passed their end plus the allowed lateness; DESIGN 3.3):
        Range tools then schedule only covered intervals, and pick the others up on a later
        run. How many wait is said in one line. Range tools call this with
        ``functools.partial(cls, **of_params)``.
        """
        task_cls = getattr(cls, "func", cls)
        values = list(parameter_tuples)
        starts = {value: task_cls.interval_start_of(value) for value in values}
        done = markers.completed_starts(task_cls.marker_family(), set(starts.values()))
        pending = [value for value in values if starts[value] not in done]
        if not pending:
            return values
        found = catalog.sync()
        lateness = config.allowed_lateness()
        waits: set[datetime] = set()
        for layout in task_cls.source_layouts():
            windows = [
                task_cls.window_of(starts[value])
                for value in pending
                if not found.covers(layout, task_cls.window_of(starts[value]), lateness)
            ]
            if windows:
                waits.update(window.start for window in windows)
                logger.warning(
                    "%s: %d of %d pending intervals wait for the export; %s",
                    task_cls.get_task_family(),
                    len(windows),
                    len(pending),
                    found.waiting_message(layout, windows, lateness),
                )
        return [value for value in values if starts[value] in done or starts[value] in waits]

    # Hooks: each covers a sorted list of interval starts ---------------------------------

    def prepare(self, starts: Sequence[datetime]) -> Any:
        """Work done before the transaction opens (reading, parsing). Returns the payload."""
        return None

    def exclusive_days(self, starts: Sequence[datetime], prepared: Any) -> set[datetime]:
        """Days (midnights) whose change lock the write needs exclusively, beyond its own
        shared ones: those where it changes rows filed under intervals it does not build,
        as :meth:`prepare` found them. :meth:`write` checks again under the locks and raises
        :class:`~playstudio_luigi.db.locks.ExclusiveDaysNeeded` for any day found since."""
        return set()

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        """Replace the rows of ``starts`` inside the transaction; marker details per start."""
        raise NotImplementedError

    def source_sha256(self, prepared: Any) -> str | dict[datetime, str | None] | None:
        """The source version the intervals were built from (one, or one per interval start;
        None where there is not exactly one)."""
        return None

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        """Data checks on what :meth:`write` just wrote, inside the same transaction."""
        return []

    def analyze_written(self, cursor: psycopg2.extensions.cursor, rows_written: int) -> None:
        """After a bulk :meth:`write`, before the checks: refresh the written tables' statistics
        (see :func:`analyze`)."""
        analyze(cursor, self.writes, rows_written)

    # Template ----------------------------------------------------------------------------

    def run(self) -> None:
        self.run_intervals([self.window.start])

    def run_intervals(
        self, starts: Sequence[datetime], run_id: str | None = None
    ) -> dict[datetime, dict[str, Any]]:
        """Build every interval of ``starts`` in one transaction; the marker details written.

        ``run_id`` names the run in markers and run history (default: this task's id).
        Intervals that a concurrent run completed first are left out, not redone.
        """
        starts = sorted(set(starts))
        run = TaskRun(
            run_id or self.task_id, self.get_task_family(), starts[0], interval_starts=tuple(starts)
        )
        try:
            return self._run(run, starts)
        except Exception as error:
            record_failure(run, error)
            raise

    def _label(self, starts: Sequence[datetime]) -> str:
        if len(starts) == 1:
            return str(self.window_of(starts[0]))
        return f"{len(starts)} intervals from {starts[0]:%Y-%m-%d %H:%M}"

    def _run(self, run: TaskRun, starts: list[datetime]) -> dict[datetime, dict[str, Any]]:
        now, lateness = intervals.utcnow(), config.allowed_lateness()
        for start in starts:
            ensure_closed(self.window_of(start), now, lateness, self.get_task_family())
        label = self._label(starts)
        report_progress(self, f"{label}: reading", 0)
        prepared = self.prepare(starts)
        report_progress(self, f"{label}: writing", 50)
        exclusive = set(self.exclusive_days(starts, prepared))
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                outcome = self._transact(run, starts, prepared, exclusive, label)
                break
            except ExclusiveDaysNeeded as needed:  # rolled back: again, with those days
                exclusive |= needed.days
                reason = str(needed)
            except ConcurrentChangeError as conflict:
                reason = str(conflict)
            logger.info("%s: attempt %d rolled back (%s)", run.task_id, attempt, reason)
        else:
            raise LockContentionError(
                f"{run.task_id}: rows outside its intervals changed under each of "
                f"{TRANSACTION_ATTEMPTS} attempts ({reason}); nothing was written, rerun it"
            )
        if outcome is None:
            return {}
        written, totals, unready, needs, present = outcome
        # After the commit: what an alert points at is in the warehouse when it arrives.
        for notice in written.notices:
            report(self.at(notice.interval_start), notice.event, notice.message, notice.error_type)
        report_progress(self, f"{label}: done, {_summary(totals)}", 100)
        if unready:  # a bulk run: the caller's next pass finds them pending again
            logger.warning("%s", self._unready(unready, needs, present))
        return written.details

    def _transact(
        self,
        run: TaskRun,
        starts: list[datetime],
        prepared: Any,
        exclusive: set[datetime],
        label: str,
    ) -> _Outcome | None:
        """One try of the run's transaction (steps 1-4 of the module docstring); None when a
        concurrent run had done everything."""
        family = self.marker_family()
        try:
            with transaction() as connection, connection.cursor() as cursor:
                needs = {start: self.upstream_markers(start) for start in starts}
                upstream = [at for pairs in needs.values() for _, at in pairs]
                lock_days_for_change(
                    cursor, [*starts, *upstream], exclusive=False, exclusive_moments=exclusive
                )
                lock_intervals(cursor, family, [_lock_key(start) for start in starts])
                done = markers.completed_in_transaction(cursor, family, starts)
                todo = [start for start in starts if start not in done]
                present = markers.present_in_transaction(
                    cursor, (pair for start in todo for pair in needs[start])
                )
                unready = [s for s in todo if not all(pair in present for pair in needs[s])]
                todo = [start for start in todo if start not in unready]
                if not todo:
                    if unready:
                        raise UpstreamMissingError(self._unready(unready, needs, present))
                    logger.info("%s: already completed by a concurrent run", run.task_id)
                    run.record(cursor, "skipped")
                    return None
                written = self.write(cursor, todo, prepared)
                totals = summed_details(written.details)
                if len(todo) > 1:
                    self.analyze_written(cursor, _largest_count(totals))
                results = written.findings + self.check(cursor, todo)
                self.record_checks(cursor, results, run.task_id, todo)
                if any(result.blocking for result in results):
                    what = run.task_id if len(starts) == 1 else f"{run.task_id} ({label})"
                    raise CheckFailedError(what, results)
                sha = self.source_sha256(prepared)
                markers.write_markers(cursor, family, written.details, run.task_id, sha)
                run.record(cursor, "done", totals, _one_version(sha))
        except CheckFailedError as failure:
            # The data rolled back; the evidence of why must not.
            with transaction() as connection, connection.cursor() as cursor:
                judged = failure.interval_starts or starts
                self.record_checks(cursor, failure.results, run.task_id, judged)
            raise
        return written, totals, unready, needs, present

    def upstream_markers(self, start: datetime) -> list[tuple[str, datetime]]:
        """The (marker family, interval start) pairs the interval at ``start`` is built from."""
        return [(task.marker_family(), start + offset) for task, offset in self.upstream()]

    @classmethod
    def upstream(cls) -> tuple[tuple[type[IntervalTask], timedelta], ...]:
        """What the task requires: each required class with its interval start relative to
        the task's own. Read once per class from its ``requires()`` at a reference interval
        (the graph is the same relative to every interval's start, which
        ``tests/unit/test_task_graph.py`` checks for any interval): a bulk run of 288
        intervals then costs arithmetic, not 600 Luigi task instantiations."""
        return _upstream_of(cls)

    def _unready(
        self,
        unready: Sequence[datetime],
        needs: dict[datetime, list[tuple[str, datetime]]],
        present: set[tuple[str, datetime]],
    ) -> str:
        first = unready[0]
        gone = [pair for pair in needs[first] if pair not in present]
        family, at = gone[0]
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        what = self.at(first).task_id if len(unready) == 1 else f"{len(unready)} intervals"
        return (
            f"{what}: input {family} {at:%Y-%m-%d %H:%M}{more} was invalidated after this run "
            "was scheduled; nothing was written for it, and the next run rebuilds both"
        )

    def record_checks(
        self,
        cursor: psycopg2.extensions.cursor,
        results: list[CheckResult],
        task_id: str,
        interval_starts: Sequence[datetime],
    ) -> None:
        record_results(cursor, results, task_id, self.get_task_family(), interval_starts)


#: The columns whose statistics a bulk write refreshes, per table: those the statements that
#: follow in the run (the next layer, the checks) filter, join and group by. Gathering the
#: others' costs as much (text comparisons over a 30,000-row sample) and plans nothing. A table
#: not listed is analysed whole. Its expression indexes' statistics (bronze purchases'
#: ``lower(ops.trimmed(transaction_id))``) are gathered only by a whole-table ANALYZE
#: (autovacuum's): silver probes that index once per id (``offset 0``), whatever the estimate.
ANALYZE_COLUMNS: dict[str, tuple[str, ...]] = {
    "staging.extract_purchases": ("interval_start", "source_row"),
    "staging.extract_spins": ("interval_start", "source_row"),
    "ops.quarantine": ("sheet", "interval_start", "source_row"),
    "ops.interval_loads": ("sheet", "interval_start"),
    "bronze.bronze_purchases": ("interval_start", "source_row"),
    "bronze.bronze_spins_hourly": ("interval_start",),
    "silver.silver_purchases": ("interval_start", "app_hour", "user_id"),
    "silver.silver_spins_hourly": ("app_hour", "user_id"),
    "gold.aggregated_final_table": ("app_hour", "user_id"),
}


def analyze(cursor: psycopg2.extensions.cursor, tables: Iterable[str], rows_written: int) -> None:
    """Refresh the planner's statistics of ``tables`` (``schema.table``) after a bulk write of
    about ``rows_written`` rows, where that is a sizeable share of the table: of the columns
    :data:`ANALYZE_COLUMNS` names.

    Later statements of the same transaction (checks, the next layer) would otherwise be
    planned for the tables as they were before: a nested loop over a day of rows takes minutes
    where a hash join takes milliseconds. Once a table holds many times a batch, its statistics
    stay good enough and autovacuum keeps them so (a year's backfill saves an ANALYZE per layer
    and day).
    """
    for table in tables:
        cursor.execute("select reltuples from pg_class where oid = %s::regclass", (table,))
        (estimated,) = cursor.fetchone()
        if estimated < 5 * rows_written:  # never analysed: -1
            cursor.execute(_analyze_statement(table))


def _analyze_statement(table: str) -> sql.Composed:
    """``analyze <table> (<its key columns>)``, or of the whole table when none are listed."""
    name = sql.Identifier(*table.split("."))
    columns = ANALYZE_COLUMNS.get(table)
    if not columns:
        return sql.SQL("analyze {}").format(name)
    listed = sql.SQL(", ").join(map(sql.Identifier, columns))
    return sql.SQL("analyze {} ({})").format(name, listed)


def _one_version(sha: str | dict[datetime, str | None] | None) -> str | None:
    """The one source version of a run, or None (none, or several)."""
    if not isinstance(sha, dict):
        return sha
    versions = set(sha.values())
    return versions.pop() if len(versions) == 1 else None


def _largest_count(totals: dict[str, Any]) -> int:
    """The largest row count of a run's totals (a rough size of its write)."""
    return max((v for k, v in totals.items() if isinstance(v, int) and k != "intervals"), default=0)


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

    width: ClassVar[timedelta] = FIVE_MINUTES

    interval = StrictDateMinuteParameter(
        interval=5,
        description="Start of the 5-minute interval, UTC, e.g. 2022-04-01T2205 (inclusive; "
        "the interval ends 5 minutes later, exclusive).",
    )

    def _interval_value(self) -> datetime:
        return self.interval

    @classmethod
    def at(cls, start: datetime) -> FiveMinuteTask:
        """The task of the interval starting at ``start``."""
        return cls(interval=start)

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        return five_minute_interval(start)

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        return five_minute_interval(value.replace(minute=value.minute - value.minute % 5)).start


class HourTask(IntervalTask):
    """Keyed by ``hour``: covers event times in [hour, hour + 1 h)."""

    width: ClassVar[timedelta] = ONE_HOUR

    hour = StrictDateHourParameter(
        description="The UTC hour, e.g. 2022-04-01T22 (inclusive; ends one hour later, exclusive)."
    )

    def _interval_value(self) -> datetime:
        return self.hour

    @classmethod
    def at(cls, start: datetime) -> HourTask:
        """The task of the hour starting at ``start``."""
        return cls(hour=start)

    @classmethod
    def window_of(cls, start: datetime) -> Interval:
        return hour_interval(start)

    @classmethod
    def interval_start_of(cls, value: datetime) -> datetime:
        return hour_interval(value.replace(minute=0, second=0, microsecond=0)).start
