"""Luigi's range tools, building every interval they are asked for.

Luigi's :class:`~luigi.tools.range.RangeBase` requires at most ``task_limit`` (default 50)
missing intervals and then reports success: ``RangeHourly`` over 72 hours built 50 and exited 0,
the only trace a DEBUG line. These subclasses keep Luigi's names (``luigi --module
playstudio_luigi RangeHourly ...`` resolves to the most derived class) and change two things:

* ``task_limit`` has no limit by default;
* when a limit is set (``--task-limit``, ``[RangeHourly] task_limit``) and truncates the range,
  the range task fails once its scheduled intervals are done, naming the intervals it left and
  why, so the command exits non-zero (``[retcode] task_failed``).

Their ``--start``/``--stop`` parse strictly (:mod:`playstudio_luigi.tasks.parameters`).

**Through a central scheduler** (no ``--local-scheduler``), Luigi's exit code counts only what
this worker ran: with two machines on the same range, intervals the other one built were "being
run by another worker" (exit 10) and the range task, taken by one of them, "not run" on the
other (25), although every interval was built. Success is every requested interval complete in
the warehouse, whoever built it. So there the range task is this process's own (its id carries
:data:`PROCESS_TOKEN`), requires nothing, and in :meth:`EveryInterval.run` builds the missing
intervals itself (a nested :func:`luigi.build` on the same luigid, whose summary is this
machine's share), then waits, bounded by ``[shared_backfill] wait_seconds``, while luigid shows
another worker building the warehouse, building again what nobody builds any more. It succeeds
once every interval is complete, and fails naming what is not (exit 30, ``task_failed``).
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime

import luigi
import luigi.tools.range as luigi_range
import luigi.worker
from luigi.cmdline_parser import CmdlineParser
from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

from playstudio_luigi.operations.shared_runs import (
    others_building,
    scheduler_url,
    shared_backfill,
    wait_for_hours,
)
from playstudio_luigi.tasks.parameters import (
    StrictDateHourParameter,
    StrictDateMinuteParameter,
    StrictDateParameter,
)

logger = logging.getLogger("luigi-interface")

#: ``task_limit`` meaning "every missing interval".
UNLIMITED = sys.maxsize

#: Makes a range task through a central scheduler this process's own (see the module).
PROCESS_TOKEN = uuid.uuid4().hex[:10]

#: Rounds in a row in which nobody was building and nothing landed before a range gives up.
IDLE_ROUNDS = 2

#: Luigi's outcomes of a nested build in which this worker's own tasks did not all succeed.
OWN_FAILURES = (
    LuigiStatusCode.FAILED,
    LuigiStatusCode.FAILED_AND_SCHEDULING_FAILED,
    LuigiStatusCode.SCHEDULING_FAILED,
    LuigiStatusCode.MISSING_EXT,
)


class RangeLeftIntervalsError(RuntimeError):
    """A range task's ``task_limit`` left missing intervals unscheduled."""

    log_traceback = False  # the message says what was left and why


class RangeIncompleteError(RuntimeError):
    """Through a central scheduler, requested intervals were still not complete at the end."""

    log_traceback = False  # the message says how many, which and why; the tasks' errors above


def through_central_scheduler() -> bool:
    """Whether this process runs ``luigi`` from its command line with a central scheduler
    (``luigi.build`` callers are left to Luigi's own behaviour). Luigi's dependency tools
    (``luigi-deps-tree``) show a range's intervals with ``--local-scheduler``."""
    return CmdlineParser.get_instance() is not None and not luigi.interface.core().local_scheduler


def _scheduler_url() -> str:
    settings = luigi.interface.core()
    return settings.scheduler_url or scheduler_url(settings.scheduler_host, settings.scheduler_port)


class EveryInterval:
    """Mixed into a Luigi range tool (before it in the bases): no silent truncation. A mixin,
    not a task of its own (it would be one more family on the command line)."""

    task_limit = luigi.IntParameter(
        default=UNLIMITED,
        description="How many missing intervals to schedule at most. Default: all of them. "
        "When a limit leaves intervals out, the range task fails naming them.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.shared = through_central_scheduler()
        if self.shared:
            self.task_id = f"{self.task_id}_{PROCESS_TOKEN}"

    def missing_datetimes(self, finite_datetimes: list[datetime]) -> list[datetime]:
        missing = super().missing_datetimes(finite_datetimes)
        self._missing = sorted(missing)
        return missing

    def left_out(self) -> list[datetime]:
        """The missing intervals ``task_limit`` kept out of :meth:`requires`, in order."""
        scheduled = len(self._interval_tasks())
        missing: list[datetime] = getattr(self, "_missing", [])
        if self.reverse:
            return missing[: len(missing) - scheduled]
        return missing[scheduled:]

    def _interval_tasks(self) -> list[luigi.Task]:
        """The missing intervals to build (within ``task_limit``): Luigi's ``requires``."""
        first_call = not hasattr(self, "_cached_requires")
        required = super().requires()
        if first_call and self.left_out():
            logger.warning("%s", self._left_out_message())
        return required

    def requires(self) -> list[luigi.Task]:
        return [] if self.shared else self._interval_tasks()

    def complete(self) -> bool:
        if self.shared:  # complete when nothing is missing (then run() is not needed)
            return not self._interval_tasks() and not self.left_out()
        return not self.left_out() and super().complete()

    def run(self) -> None:
        """Locally reached only when intervals were left out (otherwise complete once
        required); through a central scheduler it builds them (see the module)."""
        if self.shared:
            self._build_shared()
        if self.left_out():
            raise RangeLeftIntervalsError(self._left_out_message())

    def _build_shared(self) -> None:
        """Build the missing intervals here, wait while another worker builds (the shared
        backfill's wait), and again build here what nobody builds any more."""
        settings = shared_backfill()
        wanted = self._scheduled()
        building = others_building(_scheduler_url())
        deadline, stalled, before = time.monotonic() + settings.wait_seconds, 0, len(wanted) + 1
        while left := self._still_missing(wanted):
            stalled = stalled + 1 if len(left) >= before else 0
            if stalled >= IDLE_ROUNDS:
                reason = "nobody is building them (see luigid)"
                raise RangeIncompleteError(self._incomplete(left, wanted, reason))
            before = len(left)
            result = self._build_here(left)
            after = self._still_missing(left)
            if after and result.status in OWN_FAILURES:
                raise RangeIncompleteError(self._incomplete(after, wanted, "tasks failed (above)"))
            if not after or wait_for_hours(
                after,
                building,
                wait_seconds=max(0.0, deadline - time.monotonic()),
                poll_seconds=settings.poll_seconds,
                complete=lambda intervals: set(intervals) - set(self._still_missing(intervals)),
                what=type(self).__name__,
                unit="interval",
            ):
                return
            if time.monotonic() >= deadline:
                reason = f"another worker still builds after {settings.wait_seconds:.0f} s"
                raise RangeIncompleteError(self._incomplete(after, wanted, reason))

    def _build_here(self, intervals: Sequence[datetime]) -> LuigiRunResult:
        """This worker's share of ``intervals``, on the same luigid. Its worker does not keep
        alive: the wait is bounded here, and others' tasks are seen in luigid."""
        if multiprocessing.parent_process() is not None:
            # Luigi forked this process (--workers > 1) while holding luigi.worker.fork_lock,
            # and the copy here stays locked for good: the nested worker's first fork would
            # wait on it forever. Nothing else in this process can hold it.
            luigi.worker.fork_lock = threading.Lock()
        settings = luigi.interface.core()
        tasks = [self._instantiate_task_cls(self.datetime_to_parameter(d)) for d in intervals]
        config = luigi.configuration.get_config()
        kept = config.get("worker", "keep_alive", None)
        config.set("worker", "keep_alive", "false")
        try:
            return luigi.build(
                tasks,
                workers=settings.workers,
                local_scheduler=False,
                scheduler_url=settings.scheduler_url,
                scheduler_host=settings.scheduler_host,
                scheduler_port=settings.scheduler_port,
                detailed_summary=True,
            )
        finally:
            if kept is None:
                config.remove_option("worker", "keep_alive")
            else:
                config.set("worker", "keep_alive", kept)

    def _scheduled(self) -> list[datetime]:
        """The missing intervals within ``task_limit``, in order."""
        self._interval_tasks()
        left = set(self.left_out())
        return [d for d in getattr(self, "_missing", []) if d not in left]

    def _still_missing(self, intervals: Sequence[datetime]) -> list[datetime]:
        """Of ``intervals``, those not complete in the warehouse now (Luigi's bulk check)."""
        return sorted(super().missing_datetimes(list(intervals)))

    def _incomplete(self, left: list[datetime], wanted: list[datetime], reason: str) -> str:
        first, last = (self._format_datetime(d) for d in (left[0], left[-1]))
        return (
            f"{type(self).__name__}: {len(left)} of {len(wanted)} {self.of_cls.task_family} "
            f"intervals not complete ({first} .. {last}): {reason}"
        )

    def _left_out_message(self) -> str:
        left = self.left_out()
        family = self.of_cls.task_family
        total = len(getattr(self, "_missing", []))
        first, last = (self._format_datetime(d) for d in (left[0], left[-1]))
        return (
            f"{type(self).__name__} left {len(left)} of {total} missing {family} intervals "
            f"unscheduled ({first} .. {last}) because task_limit = {self.task_limit}: "
            "run it again, or raise --task-limit"
        )


class RangeDaily(EveryInterval, luigi_range.RangeDaily):
    """Luigi's ``RangeDaily``, every missing day (see the module)."""

    start = StrictDateParameter(default=None, description="First day, inclusive (YYYY-MM-DD).")
    stop = StrictDateParameter(default=None, description="Last day, exclusive (YYYY-MM-DD).")


class RangeHourly(EveryInterval, luigi_range.RangeHourly):
    """Luigi's ``RangeHourly``, every missing hour (see the module)."""

    start = StrictDateHourParameter(
        default=None, description="First hour, inclusive (YYYY-MM-DDTHH)."
    )
    stop = StrictDateHourParameter(
        default=None, description="Last hour, exclusive (YYYY-MM-DDTHH)."
    )


class RangeByMinutes(EveryInterval, luigi_range.RangeByMinutes):
    """Luigi's ``RangeByMinutes``, every missing interval (see the module)."""

    start = StrictDateMinuteParameter(
        default=None, description="First minute, inclusive (YYYY-MM-DDTHHMM)."
    )
    stop = StrictDateMinuteParameter(
        default=None, description="Last minute, exclusive (YYYY-MM-DDTHHMM)."
    )
