"""Advisory locks: how concurrent tasks and change operations stay exact.

Three kinds, always taken inside a transaction (released at commit or rollback) and always in
the order below, days ascending, so that two transactions never wait for each other in a cycle:

1. **Change lock of a day** (``warehouse-change``). Every task transaction takes it *shared*
   for the days its intervals (and their upstream intervals) lie in; every operation that
   removes markers (``invalidate``, ``reconcile``, full refresh) takes it *exclusively* for
   the days it touches. A task holds it from before it re-checks its upstream markers until
   it commits its own, so a marker can never vanish between "my inputs are there" and "my
   output is written": the removal waits for the tasks in flight, and tasks that start after
   it see the markers gone (see :mod:`playstudio_luigi.tasks.base`). A task that changes rows
   filed under intervals other than its own (silver purchases: a transaction's first copy
   moved) removes the markers built from them, so it takes the lock *exclusively* for those
   days: one mode per day, the strongest, in the same ascending order. The same exclusive lock
   serialises two such tasks fighting over one row.
2. **Interval lock** of (task family, interval), exclusive: two runs of the same interval
   never write at once, and the second finds the first one's marker.
3. **Day lock** (``warehouse-day``). A gold task refreshes a whole day's daily totals from
   silver and then checks them against silver; a silver load of that day committing in
   between would make the check fail for nothing (and the totals stale). Gold takes it
   exclusively, silver loads shared: silver loads of a day still run in parallel with each
   other, never in the middle of a gold task.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg2.extensions

CHANGE_LOCK = "warehouse-change"
DAY_LOCK = "warehouse-day"


def _days(moments: Iterable[datetime]) -> list[int]:
    return sorted({moment.toordinal() for moment in moments})


def lock_days_for_change(
    cursor: psycopg2.extensions.cursor,
    moments: Iterable[datetime],
    *,
    exclusive: bool,
    exclusive_moments: Iterable[datetime] = (),
) -> None:
    """Take the change lock of every UTC day of ``moments`` until the end of the transaction:
    shared for a task writing those days, exclusive for an operation removing markers. The
    days of ``exclusive_moments`` are taken exclusively whatever ``exclusive`` says (one mode
    per day, the strongest), all in one ascending sequence."""
    strong = set(_days(exclusive_moments))
    days = sorted(set(_days(moments)) | strong)
    cursor.execute(
        "select case when exclusive then pg_advisory_xact_lock(hashtext(%s), day)"
        " else pg_advisory_xact_lock_shared(hashtext(%s), day) end"
        " from unnest(%s::int[], %s::boolean[]) as lock(day, exclusive) order by day",
        (CHANGE_LOCK, CHANGE_LOCK, days, [exclusive or day in strong for day in days]),
    )


def held_exclusively(
    cursor: psycopg2.extensions.cursor, moments: Iterable[datetime]
) -> set[datetime]:
    """The UTC days (midnights) of ``moments`` whose change lock this transaction holds
    exclusively: the truth from ``pg_locks``, not a list kept beside it."""
    cursor.execute(
        "select objid::bigint from pg_locks"
        " where locktype = 'advisory' and pid = pg_backend_pid() and granted"
        " and mode = 'ExclusiveLock' and objsubid = 2"
        " and classid::bigint = hashtext(%s)::bigint & 4294967295"
        " and objid::bigint = any(%s::bigint[])",
        (CHANGE_LOCK, _days(moments)),
    )
    return {datetime.fromordinal(day) for (day,) in cursor.fetchall()}


class ExclusiveDaysNeeded(RuntimeError):
    """A task's write found rows to change under days whose change lock it does not hold
    exclusively (they changed after it looked, before its transaction): it must roll back and
    take them, in order, in a new transaction. ``days``: those days' midnights."""

    def __init__(self, days: Iterable[datetime]) -> None:
        self.days = frozenset(days)
        shown = ", ".join(f"{day:%Y-%m-%d}" for day in sorted(self.days))
        super().__init__(f"needs the change lock of {shown} exclusively")


def lock_intervals(cursor: psycopg2.extensions.cursor, family: str, keys: list[int]) -> None:
    """The interval locks of ``family`` (keys: minutes since the epoch), exclusive."""
    cursor.execute(
        "select pg_advisory_xact_lock(hashtext(%s), key) from unnest(%s::int[]) as key"
        " order by key",
        (family, sorted(keys)),
    )


def lock_day(cursor: psycopg2.extensions.cursor, day: datetime, *, shared: bool) -> None:
    """Take the day's lock until the end of the transaction."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    cursor.execute(f"select {function}(hashtext(%s), %s)", (DAY_LOCK, day.toordinal()))
