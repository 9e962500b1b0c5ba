"""The task graph, declared once: every layer's task class, in dependency order.

Everything that needs to know the pipeline's shape asks this module instead of spelling family
names out: the bulk :class:`~playstudio_luigi.tasks.batch.DayPipeline` (which layers to run
and which upstream markers an interval needs), invalidation (a layer and everything
downstream, markers and rows), ``status`` (each layer's last task and the chain leading to
it), reconcile (the extract tasks and their sheets), the backfill's progress and success
test, and the test helpers (the tables to empty).

Edges come from the task classes themselves: a class's upstream is what its own
``requires()`` returns, its rows are its ``writes``. The graph is the same for every interval
relative to the interval's start (a gold hour needs the twelve 5-minute intervals starting at
its own start), so it is read once from a reference interval and cached.

:data:`PIPELINE` is the graph the package runs; :func:`extended` adds a layer for the
duration of a ``with`` block (a test, or a job built on the library, can see every derived
answer follow).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property

from playstudio_luigi.db import markers
from playstudio_luigi.intervals import ONE_HOUR
from playstudio_luigi.source.schema import SheetLayout
from playstudio_luigi.tasks.base import IntervalTask, install_downstream
from playstudio_luigi.tasks.bronze import LoadBronzePurchases, LoadBronzeSpins
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins, ExtractTask
from playstudio_luigi.tasks.gold import GoldAggregate
from playstudio_luigi.tasks.silver import SilverPurchases, SilverSpins
from playstudio_luigi.tasks.validate import ValidatePurchases, ValidateSpins

#: One upstream edge: the required class, and its interval start relative to the task's own.
Upstream = tuple[type[IntervalTask], timedelta]


class TaskGraph:
    """The layers' task classes in dependency order, with everything derived from them."""

    def __init__(self, tasks: Sequence[type[IntervalTask]]) -> None:
        self.tasks = tuple(tasks)
        for number, task in enumerate(self.tasks):
            for required, _ in self.upstream(task):
                if required not in self.tasks[:number]:
                    raise ValueError(
                        f"{task.__name__} requires {required.__name__}, which is not declared "
                        "before it in the task graph"
                    )

    # Edges ------------------------------------------------------------------------------

    def upstream(self, task: type[IntervalTask]) -> tuple[Upstream, ...]:
        """What ``task`` requires, from its own ``requires()``."""
        return self._upstream[task]

    @cached_property
    def _upstream(self) -> dict[type[IntervalTask], tuple[Upstream, ...]]:
        return {task: task.upstream() for task in self.tasks}

    def needs(self, task: type[IntervalTask], start: datetime) -> list[tuple[str, datetime]]:
        """The (marker family, interval start) pairs the interval of ``task`` at ``start``
        needs before it can run."""
        return [
            (required.marker_family(), start + offset) for required, offset in self.upstream(task)
        ]

    def chain(self, task: type[IntervalTask]) -> list[type[IntervalTask]]:
        """``task`` and everything upstream of it, directly or not, in graph order."""
        wanted = {task}
        for candidate in reversed(self.tasks):
            if candidate in wanted:
                wanted.update(required for required, _ in self.upstream(candidate))
        return [candidate for candidate in self.tasks if candidate in wanted]

    def downstream(self, tasks: Iterable[type[IntervalTask]]) -> list[type[IntervalTask]]:
        """``tasks`` and everything that depends on them, directly or not, in graph order."""
        found = set(tasks)
        for candidate in self.tasks:
            if any(required in found for required, _ in self.upstream(candidate)):
                found.add(candidate)
        return [candidate for candidate in self.tasks if candidate in found]

    # Layers -----------------------------------------------------------------------------

    @property
    def layers(self) -> list[str]:
        """Layer names in pipeline order (``bronze``, ``silver``, ``gold``)."""
        return list(dict.fromkeys(task.layer for task in self.tasks))

    def of_layer(self, layer: str) -> list[type[IntervalTask]]:
        found = [task for task in self.tasks if task.layer == layer]
        if not found:
            raise ValueError(f"no layer {layer!r}: the layers are {', '.join(self.layers)}")
        return found

    def layer_outputs(self, layer: str) -> list[type[IntervalTask]]:
        """The tasks whose markers say the layer holds an interval: those of the layer that
        no other task of the same layer depends on (``LoadBronzePurchases``, not its extract)."""
        members = self.of_layer(layer)
        feeding = {
            required
            for task in members
            for required, _ in self.upstream(task)
            if task is not required
        }
        return [task for task in members if task not in feeding]

    def from_layer(self, layer: str) -> list[type[IntervalTask]]:
        """Rebuilding ``layer`` means re-running its tasks and everything downstream."""
        return self.downstream(self.of_layer(layer))

    def extracts(self) -> list[type[ExtractTask]]:
        """The tasks that read the source, one per sheet."""
        return [task for task in self.tasks if issubclass(task, ExtractTask)]

    def source_layouts(self) -> list[SheetLayout]:
        """The source sheets the graph reads, one per extract."""
        return [task.layout for task in self.extracts()]

    def tables_written(self, tasks: Iterable[type[IntervalTask]]) -> list[tuple[str, str]]:
        """``(table, interval column)`` of every table these tasks write, once each."""
        found: dict[str, str] = {}
        for task in tasks:
            for table in task.writes:
                found.setdefault(table, task.interval_column)
        return list(found.items())

    # Completion -------------------------------------------------------------------------

    def complete_hours(self, hours: Sequence[datetime]) -> set[datetime]:
        """Which of ``hours`` are complete: every task of the graph has its marker for every
        one of its intervals in the hour, whoever built them. One query."""
        per_hour = {task.marker_family(): ONE_HOUR // task.width for task in self.tasks}
        counts = markers.markers_per_hour(list(per_hour), hours)
        expected = sum(per_hour.values())
        return {hour for hour in hours if counts.get(hour, 0) == expected}


#: The pipeline this package runs.
PIPELINE = TaskGraph(
    (
        ExtractPurchases,
        ExtractSpins,
        ValidatePurchases,
        ValidateSpins,
        LoadBronzePurchases,
        LoadBronzeSpins,
        SilverPurchases,
        SilverSpins,
        GoldAggregate,
    )
)

_current = PIPELINE


def current() -> TaskGraph:
    """The graph in force (:data:`PIPELINE` unless :func:`extended` is active)."""
    return _current


@contextmanager
def extended(*tasks: type[IntervalTask]) -> Iterator[TaskGraph]:
    """Run with ``tasks`` appended to the graph (each after everything it requires)."""
    global _current
    previous = _current
    _current = TaskGraph((*previous.tasks, *tasks))
    try:
        yield _current
    finally:
        _current = previous


def complete_hours(hours: Sequence[datetime]) -> set[datetime]:
    """Which of ``hours`` are complete in the graph in force (:meth:`TaskGraph.complete_hours`)."""
    return current().complete_hours(hours)


# Tasks that change rows of intervals other than their own remove what was built from them.
install_downstream(lambda task: current().downstream([task]))
