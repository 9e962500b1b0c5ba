"""Which processed intervals were loaded from rows the source no longer has.

An extract's marker records the fingerprint of the rows it loaded (which export files held
rows of the interval, and a hash of each file's rows there); the catalog of source files
(:mod:`playstudio_luigi.source.catalog`) gives the fingerprint of the source now. An interval
whose two fingerprints differ has drifted: a file covering it was added, corrected, re-written
with other rows, or removed. ``reconcile`` rebuilds exactly those; a backfill names how many it
left drifted (the source changed while it ran).
"""

from __future__ import annotations

from datetime import datetime

import psycopg2.extensions

from playstudio_luigi.db.connection import reader
from playstudio_luigi.db.sql import render
from playstudio_luigi.source.catalog import Catalog
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.extract import ExtractTask


def processed_intervals(
    cursor: psycopg2.extensions.cursor, extract: type[ExtractTask], start: datetime, stop: datetime
) -> dict[datetime, str]:
    """The processed intervals of ``extract`` in ``[start, stop)`` and their fingerprints."""
    cursor.execute(
        render("ops/processed_extracts.sql"),
        {"family": extract.get_task_family(), "start": start, "stop": stop},
    )
    return dict(cursor.fetchall())


def drifted(
    cursor: psycopg2.extensions.cursor, found: Catalog, start: datetime, stop: datetime
) -> tuple[int, dict[type[ExtractTask], list[datetime]]]:
    """How many processed intervals ``[start, stop)`` holds, and those that drifted, per
    extract. One query per sheet against the catalog; no export file is read."""
    checked, changed = 0, {}
    for extract in graph.current().extracts():
        processed = processed_intervals(cursor, extract, start, stop)
        checked += len(processed)
        if not processed:
            continue
        now = found.fingerprints(extract.layout, sorted(processed))
        stale = [at for at, fingerprint in sorted(processed.items()) if now[at] != fingerprint]
        if stale:
            changed[extract] = stale
    return checked, changed


def count_drifted(found: Catalog, start: datetime, stop: datetime) -> int:
    """How many processed intervals of ``[start, stop)`` drifted (see :func:`drifted`)."""
    _, changed = drifted(reader().cursor(), found, start, stop)
    return sum(len(starts) for starts in changed.values())
