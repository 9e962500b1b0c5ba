"""The marker table ``ops.task_markers``: one row per completed (task family, interval).

A task writes its marker in the same transaction as its data (as Luigi's ``CopyToTable`` does),
so a marker exists exactly when the task's rows do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import psycopg2
import psycopg2.extensions
from luigi.contrib.postgres import PostgresTarget
from psycopg2.extras import Json, execute_values

from playstudio_luigi.db.connection import forget_reader, reader


def _read(query: str, params: tuple) -> list[tuple]:
    """Run a read on the shared connection; once more on a fresh one if the server went away
    (a restarted database must not leave a long-lived process unable to answer)."""
    for attempt in (1, 2):
        try:
            with reader().cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            forget_reader()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def is_complete(family: str, interval_start: datetime) -> bool:
    rows = _read(
        "select 1 from ops.task_markers where task_family = %s and interval_start = %s",
        (family, interval_start),
    )
    return bool(rows)


def completed_starts(family: str, starts: Iterable[datetime]) -> set[datetime]:
    """Which of ``starts`` have a marker for ``family``: one query, whatever the range size."""
    starts = list(starts)
    if not starts:
        return set()
    rows = _read(
        "select interval_start from ops.task_markers"
        " where task_family = %s and interval_start = any(%s::timestamp[])",
        (family, starts),
    )
    return {row[0] for row in rows}


def markers_per_hour(families: list[str], hours: Iterable[datetime]) -> dict[datetime, int]:
    """How many markers of ``families`` each of ``hours`` holds (its intervals' markers
    counted under the hour they start in): one query, whatever the range size."""
    hours = sorted(set(hours))
    if not hours:
        return {}
    rows = _read(
        "select date_trunc('hour', interval_start), count(*) from ops.task_markers"
        " where task_family = any(%s) and interval_start >= %s and interval_start < %s"
        " and date_trunc('hour', interval_start) = any(%s::timestamp[])"
        " group by 1",
        (families, hours[0], hours[-1] + timedelta(hours=1), hours),
    )
    return dict(rows)


def write_markers(
    cursor: psycopg2.extensions.cursor,
    family: str,
    details_by_start: dict[datetime, dict],
    task_id: str,
    source_sha256: str | Mapping[datetime, str | None] | None = None,
) -> None:
    """One marker per interval start, with its details, in the caller's transaction;
    ``source_sha256`` is the source version of every interval, or one per interval start."""
    if not isinstance(source_sha256, Mapping):
        source_sha256 = dict.fromkeys(details_by_start, source_sha256)
    execute_values(
        cursor,
        """
        insert into ops.task_markers as m
            (task_family, interval_start, task_id, source_sha256, details, completed_at)
        values %s
        on conflict (task_family, interval_start) do update
            set task_id = excluded.task_id, source_sha256 = excluded.source_sha256,
                details = excluded.details, completed_at = excluded.completed_at
        """,
        [
            (family, start, task_id, source_sha256.get(start), Json(details))
            for start, details in sorted(details_by_start.items())
        ],
        template="(%s, %s, %s, %s, %s, now())",
        page_size=1000,
    )


def update_details(
    cursor: psycopg2.extensions.cursor,
    family: str,
    details_by_start: dict[datetime, dict],
) -> int:
    """Merge ``details`` into the existing markers of ``family`` (a run that changed rows of
    intervals it does not build keeps their recorded counts true); markers that do not exist
    are not created. How many were updated."""
    if not details_by_start:
        return 0
    starts = sorted(details_by_start)
    cursor.execute(
        "update ops.task_markers as m set details = m.details || d.details"
        " from unnest(%s::timestamp[], %s::jsonb[]) as d(interval_start, details)"
        " where m.task_family = %s and m.interval_start = d.interval_start",
        (starts, [Json(details_by_start[start]) for start in starts], family),
    )
    return cursor.rowcount


def completed_in_transaction(
    cursor: psycopg2.extensions.cursor, family: str, starts: Iterable[datetime]
) -> set[datetime]:
    """Which of ``starts`` have a marker, as the caller's transaction sees it."""
    cursor.execute(
        "select interval_start from ops.task_markers"
        " where task_family = %s and interval_start = any(%s::timestamp[])",
        (family, list(starts)),
    )
    return {row[0] for row in cursor.fetchall()}


def present_in_transaction(
    cursor: psycopg2.extensions.cursor, wanted: Iterable[tuple[str, datetime]]
) -> set[tuple[str, datetime]]:
    """Which of the (task family, interval start) pairs have a marker, as the caller's
    transaction sees it: one query, whatever the number of pairs."""
    wanted = sorted(set(wanted))
    if not wanted:
        return set()
    families, starts = zip(*wanted, strict=True)
    cursor.execute(
        "select m.task_family, m.interval_start from ops.task_markers m"
        " join unnest(%s::text[], %s::timestamp[]) as w(task_family, interval_start)"
        " using (task_family, interval_start)",
        (list(families), list(starts)),
    )
    return {(family, start) for family, start in cursor.fetchall()}


def remove_markers(
    cursor: psycopg2.extensions.cursor, starts_by_family: dict[str, Iterable[datetime]]
) -> int:
    """Delete these markers in the caller's transaction (which must hold the change locks of
    their days, see :mod:`playstudio_luigi.db.locks`); how many were removed."""
    removed = 0
    for family, starts in sorted(starts_by_family.items()):
        cursor.execute(
            "delete from ops.task_markers"
            " where task_family = %s and interval_start = any(%s::timestamp[])",
            (family, sorted(set(starts))),
        )
        removed += cursor.rowcount
    return removed


class MarkerTarget(PostgresTarget):
    """Output of every database task: its row in ``ops.task_markers``.

    A :class:`~luigi.contrib.postgres.PostgresTarget` by kind, so that Luigi's tools describe
    it (``luigi-deps`` prints ``[DB] warehouse:ops.task_markers[GoldAggregate ...]``); none of
    that class's own marker machinery is used: the marker is written with the data.
    """

    def __init__(self, family: str, interval_start: datetime) -> None:
        self.family = family
        self.interval_start = interval_start
        self.host, self.port, self.database = "warehouse", None, None
        self.user = self.password = None
        self.update_id = f"{family} {interval_start:%Y-%m-%dT%H:%M}"
        self.table = f"ops.task_markers[{self.update_id}]"

    def exists(self) -> bool:
        return is_complete(self.family, self.interval_start)

    def __repr__(self) -> str:
        return f"MarkerTarget({self.family!r}, {self.interval_start:%Y-%m-%dT%H:%M})"


def row_counts(families: list[str], start: datetime, stop: datetime) -> dict[str, dict[str, int]]:
    """The row counts the markers of ``families`` in ``[start, stop)`` record (``source_rows``,
    ``silver_rows``, ...), summed per family: one query."""
    rows = _read(
        "select m.task_family, d.key, sum((d.value #>> '{}')::bigint)"
        " from ops.task_markers as m cross join lateral jsonb_each(m.details) as d"
        " where m.task_family = any(%s) and m.interval_start >= %s and m.interval_start < %s"
        " and d.key like '%%\\_rows' and jsonb_typeof(d.value) = 'number'"
        " group by 1, 2",
        (families, start, stop),
    )
    counts: dict[str, dict[str, int]] = {}
    for family, key, total in rows:
        counts.setdefault(family, {})[key] = int(total)
    return {family: counts[family] for family in families if family in counts}
