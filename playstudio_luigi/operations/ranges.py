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
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime

import luigi
import luigi.tools.range as luigi_range

from playstudio_luigi.tasks.parameters import (
    StrictDateHourParameter,
    StrictDateMinuteParameter,
    StrictDateParameter,
)

logger = logging.getLogger("luigi-interface")

#: ``task_limit`` meaning "every missing interval".
UNLIMITED = sys.maxsize


class RangeLeftIntervalsError(RuntimeError):
    """A range task's ``task_limit`` left missing intervals unscheduled."""

    log_traceback = False  # the message says what was left and why


class EveryInterval:
    """Mixed into a Luigi range tool (before it in the bases): no silent truncation. A mixin,
    not a task of its own (it would be one more family on the command line)."""

    task_limit = luigi.IntParameter(
        default=UNLIMITED,
        description="How many missing intervals to schedule at most. Default: all of them. "
        "When a limit leaves intervals out, the range task fails naming them.",
    )

    def missing_datetimes(self, finite_datetimes: list[datetime]) -> list[datetime]:
        missing = super().missing_datetimes(finite_datetimes)
        self._missing = sorted(missing)
        return missing

    def left_out(self) -> list[datetime]:
        """The missing intervals ``task_limit`` kept out of :meth:`requires`, in order."""
        scheduled = len(self.requires())
        missing: list[datetime] = getattr(self, "_missing", [])
        if self.reverse:
            return missing[: len(missing) - scheduled]
        return missing[scheduled:]

    def requires(self) -> list[luigi.Task]:
        first_call = not hasattr(self, "_cached_requires")
        required = super().requires()
        if first_call and self.left_out():
            logger.warning("%s", self._left_out_message())
        return required

    def complete(self) -> bool:
        return not self.left_out() and super().complete()

    def run(self) -> None:
        """Reached only when intervals were left out (otherwise complete once required)."""
        if self.left_out():
            raise RangeLeftIntervalsError(self._left_out_message())

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
