"""Bulk backfills: one Luigi task per UTC day, set-based SQL, the same markers as cron's tasks.

Luigi schedules about 50 tasks per hour of data when every interval is its own task, and its
per-task cost then dwarfs the work (a year is 105,120 five-minute intervals).
:class:`DayPipeline` runs each layer's hooks over all of a day's pending intervals in one
transaction instead, and writes one marker per interval exactly as the per-interval tasks
would: a day built in bulk is complete for ``FiveMinutePipeline``/``HourlyPipeline``, and a
day that cron already half built is finished in bulk without redoing the done intervals.

An interval that fails a data rule (reject ratio, conservation, an ``error`` check) must not
hold back the rest of its day: a layer whose batch fails that way is retried interval by
interval, so the good intervals land, the bad ones fail alone with their own evidence, and the
day reports them.

Markers removed while a day runs (an ``invalidate``, ``reconcile`` or full refresh racing it)
do not leave the day incomplete behind a successful exit: after going through its layers, the
day counts what is still unbuilt and goes through them again (at most :data:`MAX_PASSES`
times, then it fails saying so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import luigi

from playstudio_luigi import config, intervals
from playstudio_luigi.db import markers
from playstudio_luigi.intervals import Interval, floor_hour, is_closed
from playstudio_luigi.quality.checks import CheckFailedError
from playstudio_luigi.source import catalog
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import IntervalTask, UpstreamMissingError
from playstudio_luigi.tasks.bronze import ConservationError
from playstudio_luigi.tasks.parameters import StrictDateParameter
from playstudio_luigi.tasks.status_messages import (
    report_progress,
    row_totals,
    rows_message,
    rows_summary,
)

logger = logging.getLogger("luigi-interface")

#: Failures that belong to one interval's data; anything else (the database gone, a bug)
#: fails the whole day at once.
DATA_FAILURES = (CheckFailedError, ConservationError)

#: How many times a day goes through its layers when markers keep disappearing under it.
MAX_PASSES = 3


class DayFailedError(RuntimeError):
    """Some intervals or layers of the day failed; everything else was loaded."""

    log_traceback = False  # the message lists every failure; the stack says nothing more


class DayPipeline(luigi.Task):
    """Every interval of one UTC day (or of its hours ``[from_hour, to_hour)``) through gold.

    For backfills: ``playstudio-luigi backfill`` uses it, and so can
    ``luigi --module playstudio_luigi RangeDaily --of DayPipeline --start … --stop …``.
    Complete when every hour is in gold and every 5-minute interval in silver, whoever built
    them. Only intervals the source covers are loaded (DESIGN 3.3); the others are skipped,
    with one line per sheet saying how many wait and for what.
    """

    day = StrictDateParameter(description="The UTC day, YYYY-MM-DD, e.g. 2022-04-01.")
    from_hour = luigi.IntParameter(default=0, description="First hour of the day to build.")
    to_hour = luigi.IntParameter(default=24, description="Hour to stop before (24: midnight).")
    run_token = luigi.Parameter(
        default="",
        description="Makes the task one run's own: a full refresh and reconcile set it, so "
        "that luigid schedules days it saw done moments ago (stable_done_cooldown_secs) "
        "instead of taking them for done.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not 0 <= self.from_hour < self.to_hour <= 24:
            raise ValueError(
                f"DayPipeline {self.day}: need 0 <= from_hour < to_hour <= 24, "
                f"got from_hour={self.from_hour}, to_hour={self.to_hour}"
            )

    @property
    def window(self) -> Interval:
        midnight = datetime.combine(self.day, datetime.min.time())
        return Interval(
            midnight + timedelta(hours=self.from_hour), midnight + timedelta(hours=self.to_hour)
        )

    def hours(self) -> list[datetime]:
        return intervals.hours_between(self.window.start, self.window.end)

    def starts(self, task: type[IntervalTask]) -> list[datetime]:
        """The interval starts of ``task`` in this day's window."""
        return intervals.starts_between(self.window.start, self.window.end, task.width)

    def complete(self) -> bool:
        return graph.complete_hours(self.hours()) == set(self.hours())

    @classmethod
    def bulk_complete(cls, parameter_tuples: Iterable[Any]) -> list[Any]:
        """For ``RangeDaily``: days already complete, or not covered by the source yet (see
        IntervalTask.bulk_complete); how many wait is said in one line."""
        task_cls = getattr(cls, "func", cls)
        values = list(parameter_tuples)
        tasks = {value: task_cls(day=value) for value in values}
        done = graph.complete_hours([hour for task in tasks.values() for hour in task.hours()])
        pending = {value: task for value, task in tasks.items() if not set(task.hours()) <= done}
        if not pending:
            return values
        found, lateness = catalog.sync(), config.allowed_lateness()
        layouts = graph.current().source_layouts()
        waiting = {
            value
            for value, task in pending.items()
            if not all(found.covers(layout, task.window, lateness) for layout in layouts)
        }
        if waiting:
            first = min(waiting)
            logger.warning(
                "DayPipeline: %d of %d pending days wait for the export (the first, %s: %s)",
                len(waiting),
                len(pending),
                first,
                "; ".join(found.watermark(layout).describe() for layout in layouts),
            )
        return [value for value in values if value not in pending or value in waiting]

    def run(self) -> None:
        pipeline = graph.current()
        ready, waiting = self._ready(pipeline, catalog.sync())
        for attempt in range(1, MAX_PASSES + 1):
            failures = self._pass(pipeline, ready)
            unbuilt = _unbuilt(ready)
            if failures or not unbuilt:
                break
            # Markers removed under this run (invalidate, reconcile, a full refresh): build
            # what they took away, as a later run would.
            logger.warning(
                "%s: %d interval(s) were invalidated during pass %d; building them again",
                self.task_id,
                unbuilt,
                attempt,
            )
        else:
            failures = [
                f"{unbuilt} interval(s) were invalidated again during each of {MAX_PASSES} "
                "passes; rerun the backfill once the invalidations are over"
            ]
        rows = rows_message([task.marker_family() for task in pipeline.tasks], self.window)
        report_progress(self, f"{self.window}: done; rows: {rows}", 100)
        for message in waiting:
            logger.warning("%s: %s", self.task_id, message)
        if failures:
            shown = "; ".join(failures[:5])
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise DayFailedError(
                f"{self.task_id}: {len(failures)} failure(s), each writing nothing (whatever did "
                f"not depend on them was loaded): {shown}{more}"
            )

    def _ready(
        self, pipeline: graph.TaskGraph, found: catalog.Catalog
    ) -> tuple[dict[type[IntervalTask], list[datetime]], list[str]]:
        """Each task's intervals in the window that can be built now, and one line per sheet
        with intervals waiting for the export (DESIGN 3.3: those are skipped, not failed).

        An extract's interval is ready once the source covers it; any other task's once its
        window has closed and every input in the window is ready."""
        now, lateness = intervals.utcnow(), config.allowed_lateness()
        ready: dict[type[IntervalTask], list[datetime]] = {}
        ready_by_family: dict[str, set[datetime]] = {}
        waiting: list[str] = []
        for task in pipeline.tasks:
            starts = [s for s in self.starts(task) if is_closed(task.window_of(s), now, lateness)]
            layout = task.source_layout
            if layout is not None:
                covered = [s for s in starts if found.covers(layout, task.window_of(s), lateness)]
                if len(covered) < len(starts):
                    left = [task.window_of(s) for s in starts if s not in covered]
                    waiting.append(found.waiting_message(layout, left, lateness))
                starts = covered
            starts = [
                start
                for start in starts
                if all(
                    at in ready_by_family.get(family, set()) or at not in self.window
                    for family, at in pipeline.needs(task, start)
                )
            ]
            ready[task] = starts
            ready_by_family.setdefault(task.marker_family(), set()).update(starts)
        return ready, waiting

    def _pass(
        self, pipeline: graph.TaskGraph, ready: dict[type[IntervalTask], list[datetime]]
    ) -> list[str]:
        """Every layer once over its pending ready intervals; the failures."""
        failures: list[str] = []
        written: dict[str, dict[str, int]] = {}  # rows per family, as this pass wrote them
        for number, task in enumerate(pipeline.tasks):
            pending = _pending(pipeline, task, ready[task])
            report_progress(
                self,
                f"{self.window}: {task.get_task_family()}, {len(pending)} intervals; "
                f"rows written so far: {rows_summary(written)}",
                round(100 * number / len(pipeline.tasks)),
            )
            if pending:
                layer_failures, details = self._run_layer(task, pending)
                failures += layer_failures
                written[task.marker_family()] = row_totals(details)
        return failures

    def _run_layer(
        self, task: type[IntervalTask], pending: list[datetime]
    ) -> tuple[list[str], dict[datetime, dict[str, Any]]]:
        """Run one layer over ``pending``; the failures, each a message, and the marker
        details written. A failure here does not stop the day: the other chain (purchases or
        spins) still runs, and the layers that depend on a failed interval find it not ready."""
        family = task.get_task_family()
        try:
            return [], task.at(pending[0]).run_intervals(pending, run_id=self.task_id)
        except UpstreamMissingError as error:  # invalidated meanwhile: the next pass
            logger.warning("%s: %s", self.task_id, error)
            return [], {}
        except DATA_FAILURES as error:
            if len(pending) == 1:
                return [str(error)], {}
            logger.warning(
                "%s: %s failed as a batch, retrying interval by interval: %s",
                self.task_id,
                family,
                error,
            )
        except Exception as error:  # reported with the day's outcome
            logger.error("%s: %s failed: %s", self.task_id, family, error)
            return [f"{family}: {type(error).__name__}: {error}"], {}
        failures, details = [], {}
        for start in pending:
            try:
                details |= task.at(start).run_intervals([start], run_id=self.task_id)
            except UpstreamMissingError:
                continue  # the next pass
            except DATA_FAILURES as error:
                failures.append(str(error))
        return failures, details


def _unbuilt(ready: dict[type[IntervalTask], list[datetime]]) -> int:
    """How many of these intervals have no marker yet (a query per task family)."""
    return sum(
        len(starts) - len(markers.completed_starts(task.marker_family(), starts))
        for task, starts in ready.items()
    )


def _pending(
    pipeline: graph.TaskGraph, task: type[IntervalTask], starts: Sequence[datetime]
) -> list[datetime]:
    """Starts of ``task`` without a marker whose upstream markers all exist (a query per
    family)."""
    done = markers.completed_starts(task.marker_family(), starts)
    todo = [start for start in starts if start not in done]
    needed: dict[str, set[datetime]] = {}
    for start in todo:
        for family, upstream in pipeline.needs(task, start):
            needed.setdefault(family, set()).add(upstream)
    ready = {family: markers.completed_starts(family, wanted) for family, wanted in needed.items()}
    return [
        start
        for start in todo
        if all(upstream in ready[family] for family, upstream in pipeline.needs(task, start))
    ]


def day_tasks(hours: Sequence[datetime], run_token: str = "") -> list[DayPipeline]:
    """The fewest :class:`DayPipeline` tasks covering exactly ``hours`` (whole UTC hours)."""
    by_day: dict[date, list[int]] = {}
    for hour in sorted(set(map(floor_hour, hours))):
        by_day.setdefault(hour.date(), []).append(hour.hour)
    tasks = []
    for day, day_hours in by_day.items():
        run_start = previous = day_hours[0]
        for hour in [*day_hours[1:], None]:
            if hour is not None and hour == previous + 1:
                previous = hour
                continue
            tasks.append(
                DayPipeline(day=day, from_hour=run_start, to_hour=previous + 1, run_token=run_token)
            )
            if hour is not None:
                run_start = previous = hour
    return tasks
