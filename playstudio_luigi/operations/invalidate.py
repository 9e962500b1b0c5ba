"""Full refresh and targeted re-runs: removing markers (and rows) so the next run rebuilds.

Tasks replace their own interval's rows, so removing a marker is enough to have a task run
again; a full refresh also removes the rows at once, so that nothing stale is read meanwhile.
Either way it happens in one transaction. Which tasks and tables a layer's invalidation
touches comes from the task graph (:mod:`playstudio_luigi.tasks.graph`): the layer's tasks,
everything downstream of them, and the tables those tasks write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import psycopg2.extensions

from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import floor_to, hours_between, starts_between
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import IntervalTask


def invalidate_range(start: datetime, stop: datetime, layer: str = "bronze") -> None:
    """Remove markers and rows of ``layer`` and everything downstream, for [start, stop)."""
    pipeline = graph.current()
    if layer not in pipeline.layers:
        raise ValueError(f"--layer must be one of {', '.join(pipeline.layers)}, not {layer!r}")
    tasks = pipeline.from_layer(layer)
    params = {"start": start, "stop": stop, "families": [t.marker_family() for t in tasks]}
    with transaction() as connection, connection.cursor() as cursor:
        cursor.execute(render("ops/invalidate.sql", tables=pipeline.tables_written(tasks)), params)


def forget_markers(
    cursor: psycopg2.extensions.cursor,
    changed: Mapping[type[IntervalTask], Iterable[datetime]],
) -> set[datetime]:
    """Drop the markers of these intervals (per extract task) and of every task downstream
    of them whose interval overlaps (rows stay until the re-run replaces them). Returns the
    hours to rebuild."""
    pipeline = graph.current()
    forget: dict[str, set[datetime]] = {}
    hours: set[datetime] = set()
    for source, starts in changed.items():
        for start in starts:
            end = start + source.width
            hours.update(hours_between(start, end))
            for task in pipeline.downstream([source]):
                forget.setdefault(task.marker_family(), set()).update(
                    starts_between(floor_to(start, task.width), end, task.width)
                )
    for family, starts in forget.items():
        cursor.execute(
            "delete from ops.task_markers"
            " where task_family = %s and interval_start = any(%s::timestamp[])",
            (family, sorted(starts)),
        )
    return hours
