"""Full refresh and targeted re-runs: removing markers so that the next run rebuilds.

Removing a marker is all it takes: every task replaces its own interval's rows when it runs,
so the rows stay where they are until the rebuild's transaction replaces them. A refresh
therefore never leaves the warehouse emptier than before it started, even when the rebuild
fails or never runs (``status`` then shows the range as missing, the data is still there).

Markers are removed under the exclusive change lock of each day they belong to (see
:mod:`playstudio_luigi.db.locks`): a task in flight on those days finishes first (and its
marker is removed with the others), a task starting later sees its inputs gone and writes
nothing. Which tasks an invalidation touches comes from the task graph
(:mod:`playstudio_luigi.tasks.graph`): the layer's tasks and everything downstream of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import psycopg2.extensions

from playstudio_luigi.db import markers
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.locks import lock_days_for_change
from playstudio_luigi.intervals import (
    ONE_DAY,
    floor_day,
    floor_to,
    hours_between,
    starts_between,
)
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import IntervalTask


def invalidate_range(start: datetime, stop: datetime, layer: str = "bronze") -> int:
    """Remove the markers of ``layer`` and everything downstream for [start, stop), in one
    transaction; how many were removed. Rows stay until the next run replaces them."""
    pipeline = graph.current()
    if layer not in pipeline.layers:
        raise ValueError(f"--layer must be one of {', '.join(pipeline.layers)}, not {layer!r}")
    families = [task.marker_family() for task in pipeline.from_layer(layer)]
    with transaction() as connection, connection.cursor() as cursor:
        days = starts_between(floor_day(start), stop, ONE_DAY)
        lock_days_for_change(cursor, days, exclusive=True)
        cursor.execute(
            "delete from ops.task_markers where task_family = any(%s)"
            " and interval_start >= %s and interval_start < %s",
            (families, start, stop),
        )
        return cursor.rowcount


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
    lock_days_for_change(
        cursor, [start for starts in forget.values() for start in starts], exclusive=True
    )
    markers.remove_markers(cursor, forget)
    return hours
