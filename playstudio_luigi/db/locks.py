"""Advisory locks that order concurrent tasks touching the same UTC day.

A gold task refreshes a whole day's daily totals from silver and then checks them against
silver; a silver load of that day committing in between would make the check fail for nothing
(and the totals stale). Gold takes the day's lock exclusively, silver loads take it shared: silver
loads of a day still run in parallel with each other, never in the middle of a gold task.
"""

from __future__ import annotations

from datetime import datetime

import psycopg2.extensions

DAY_LOCK = "warehouse-day"


def lock_day(cursor: psycopg2.extensions.cursor, day: datetime, *, shared: bool) -> None:
    """Take the day's advisory lock until the end of the transaction."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    cursor.execute(f"select {function}(hashtext(%s), %s)", (DAY_LOCK, day.toordinal()))
