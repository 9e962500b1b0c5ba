"""Reconciliation: re-run exactly the intervals whose source slice changed since they ran.

Each extract records a fingerprint of the rows it loaded: which export files held rows of the
interval, and a content hash of each file's rows there (row numbers and values). Rows can arrive
after their interval was processed, an export can be corrected, re-written, added or removed;
reconcile syncs the catalog of source files (:mod:`playstudio_luigi.source.catalog`), compares
every processed interval's fingerprint in a window with the catalog's (reading no file for an
interval that did not change), and for those that differ drops the markers of the interval's
chain and of its gold hour (in one transaction), then rebuilds those hours. Every task replaces
its own rows, so added, changed and removed rows are all reflected downstream, daily totals
included.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import luigi
import psycopg2.extensions
import pyarrow as pa

from playstudio_luigi.db.connection import connect, transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import utcnow
from playstudio_luigi.operations.backfill import build_hours
from playstudio_luigi.operations.drift import drifted
from playstudio_luigi.operations.invalidate import forget_markers
from playstudio_luigi.source import catalog
from playstudio_luigi.tasks.batch import day_tasks
from playstudio_luigi.tasks.extract import ExtractTask, interval_slices
from playstudio_luigi.tasks.status_messages import report_progress


@dataclass(frozen=True)
class SliceChange:
    """How one processed interval's source slice differs from what was loaded."""

    extract: type[ExtractTask]
    sheet: str
    interval_start: datetime
    added: int
    changed: int
    removed: int

    def __str__(self) -> str:
        where = f"{self.sheet} {self.interval_start:%Y-%m-%d %H:%M}"
        if not (self.added or self.changed or self.removed):
            # Rows above moved: same values, new row numbers (bronze provenance is refreshed).
            return f"{where}: same rows at new source row numbers"
        return f"{where}: +{self.added} added, ~{self.changed} changed, -{self.removed} removed"


@dataclass
class ReconcileReport:
    start: datetime
    stop: datetime
    checked: int = 0
    changes: list[SliceChange] = field(default_factory=list)
    hours: list[datetime] = field(default_factory=list)
    rebuilt: bool = True

    def render(self) -> str:
        lines = [
            f"reconciled [{self.start:%Y-%m-%d %H:%M}, {self.stop:%Y-%m-%d %H:%M}): "
            f"{self.checked} processed interval(s) checked, {len(self.changes)} changed"
        ]
        lines += [f"  {change}" for change in self.changes]
        if self.hours:
            state = "rebuilt" if self.rebuilt else "FAILED to rebuild"
            lines.append(
                f"  {state} {len(self.hours)} hour(s): "
                + ", ".join(f"{h:%Y-%m-%dT%H}" for h in self.hours)
            )
        return "\n".join(lines)


def _diff(old: list[tuple], new: list[tuple], key_index: int) -> tuple[int, int, int]:
    """Rows added, changed (same key, other values) and removed, as multisets."""
    added, removed = Counter(new) - Counter(old), Counter(old) - Counter(new)
    added_keys = Counter(row[key_index] for row in added.elements())
    removed_keys = Counter(row[key_index] for row in removed.elements())
    changed = sum((added_keys & removed_keys).values())
    return sum(added.values()) - changed, changed, sum(removed.values()) - changed


def _rows(table: pa.Table, columns: list[str]) -> list[tuple]:
    data = table.select(columns).to_pylist()
    return [tuple(row[c] for c in columns) for row in data]


def find_changes(
    cursor: psycopg2.extensions.cursor, found: catalog.Catalog, start: datetime, stop: datetime
) -> tuple[int, list[SliceChange]]:
    """The processed intervals in [start, stop) whose rows in the source changed since they
    were loaded (:func:`~playstudio_luigi.operations.drift.drifted`), each with what changed.
    Only the files covering a changed interval are read."""
    checked, changed = drifted(cursor, found, start, stop)
    changes = []
    for extract, starts in changed.items():
        layout = extract.layout
        for interval_start in starts:
            versions = found.versions_covering(layout, extract.window_of(interval_start))
            rows = interval_slices(versions, layout, [interval_start])[interval_start]
            columns = layout.fields
            cursor.execute(
                render("ops/staged_rows.sql", table=layout.staging_table, columns=columns),
                {"interval_start": interval_start},
            )
            old = [tuple(row) for row in cursor.fetchall()]
            added, modified, removed = _diff(
                old, _rows(rows, columns), columns.index(layout.key_column)
            )
            changes.append(
                SliceChange(extract, layout.name, interval_start, added, modified, removed)
            )
    return checked, changes


def invalidate_changed(start: datetime, stop: datetime) -> ReconcileReport:
    """Find the processed intervals of [start, stop) whose slice changed and drop the markers
    of their chains and gold hours, in one transaction. The report says what to rebuild."""
    found = catalog.sync()
    report = ReconcileReport(start, stop)
    connection = connect()
    try:
        with connection.cursor() as cursor:
            report.checked, report.changes = find_changes(cursor, found, start, stop)
    finally:
        connection.close()
    if report.changes:
        with transaction() as connection, connection.cursor() as cursor:
            changed: dict[type[ExtractTask], list[datetime]] = {}
            for change in report.changes:
                changed.setdefault(change.extract, []).append(change.interval_start)
            hours = forget_markers(cursor, changed)
        report.hours = sorted(hours)
    return report


def reconcile(
    start: datetime,
    stop: datetime,
    *,
    workers: int = 1,
    scheduler_host: str | None = None,
    scheduler_port: int | None = None,
) -> ReconcileReport:
    """Find changed intervals in [start, stop), drop their markers, rebuild their hours."""
    report = invalidate_changed(start, stop)
    if report.hours:
        report.rebuilt = build_hours(
            report.hours,
            workers=workers,
            scheduler_host=scheduler_host,
            scheduler_port=scheduler_port,
            run_token=uuid.uuid4().hex[:12],  # see build_hours: luigid's done cooldown
        )
    return report


class Reconcile(luigi.Task):
    """Cron entry point: reconcile the last ``hours_back`` hours against the current source.

    Never complete, so every invocation checks again; it rebuilds changed hours as dynamic
    dependencies, visible in luigid like any other task.
    """

    hours_back = luigi.IntParameter(
        default=6, description="Window: the closed hours ending now, this many of them."
    )

    def complete(self) -> bool:
        return getattr(self, "_done", False)

    def run(self):
        # Luigi runs a task with dynamic dependencies again from the top once they are done;
        # by then the sources match what was rebuilt, so the first look is kept for the report.
        report = getattr(self, "_report", None)
        if report is None:
            stop = utcnow().replace(minute=0, second=0, microsecond=0)
            report = self._report = invalidate_changed(
                stop - timedelta(hours=self.hours_back), stop
            )
            # This run's own day tasks (the same ones on Luigi's second pass): luigid would
            # take hours it saw done seconds ago for done without asking
            # (stable_done_cooldown_secs), and nothing would be rebuilt.
            self._rebuild = day_tasks(report.hours, run_token=uuid.uuid4().hex[:12])
        if report.hours:
            report_progress(self, report.render())
            yield self._rebuild
            report.rebuilt = True  # Luigi resumes here only once every hour is complete
        print(report.render())  # what `playstudio-luigi reconcile` prints, for cron's log
        self._report = None
        self._done = True
