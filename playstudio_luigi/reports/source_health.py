"""The source feed's health as ``status`` and the data docs show it: per sheet its watermark,
newest file, and whether it is stale (judged now, from what the latest run recorded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

from playstudio_luigi.alerts.message import duration
from playstudio_luigi.alerts.stale import HealthRecord, is_stale, read_source_health


@dataclass(frozen=True)
class SheetStatus:
    sheet: str
    watermark: datetime | None
    newest_file: str | None
    waiting_intervals: int
    checked_at: datetime
    stale: bool
    stale_since: datetime | None
    recovered_at: datetime | None
    #: An unreadable export holding the watermark back, if any.
    held_by: str | None = None

    @classmethod
    def judged(cls, record: HealthRecord, now: datetime, stale_after: timedelta) -> SheetStatus:
        """``record`` judged at ``now``: a sheet no run has checked for a while is stale once
        its recorded watermark is old enough, whether or not a run said so."""
        stale = is_stale(record.watermark, now, stale_after)
        since = record.stale_since
        if stale and since is None:
            since = (
                record.watermark + stale_after
                if record.watermark is not None
                else record.checked_at
            )
        return cls(
            record.sheet,
            record.watermark,
            record.newest_file,
            record.waiting_intervals,
            record.checked_at,
            stale,
            since if stale else None,
            record.recovered_at,
            record.held_by,
        )

    def describe(self) -> str:
        """One line: ``Purchases  newest export 2022-04-01 22:05 UTC (path), checked ...; STALE
        since ... (N intervals wait)`` or ``...; ok``."""
        if self.watermark is None:
            newest = "no export holds it"
        else:
            newest = f"newest export {self.watermark:%Y-%m-%d %H:%M} UTC"
            if self.newest_file:
                newest += f" ({self.newest_file})"
        if self.held_by:
            newest += f", held back by {self.held_by} (unreadable)"
        line = f"{self.sheet:<14} {newest}, checked {self.checked_at:%Y-%m-%d %H:%M}"
        if self.stale:
            return (
                f"{line}; STALE since {self.stale_since:%Y-%m-%d %H:%M} UTC "
                f"({self.waiting_intervals} intervals wait)"
            )
        return f"{line}; ok" + (
            f" ({self.waiting_intervals} intervals wait)" if self.waiting_intervals else ""
        )


def source_health(
    connection: psycopg2.extensions.connection, now: datetime, stale_after: timedelta
) -> list[SheetStatus]:
    """Every recorded sheet, judged at ``now`` (empty before any run recorded one)."""
    with connection.cursor() as cursor:
        records = read_source_health(cursor)
    return [SheetStatus.judged(record, now, stale_after) for record in records]


def render_source_health(sheets: list[SheetStatus], stale_after: timedelta) -> list[str]:
    """The ``status`` section: a heading and one line per sheet."""
    lines = [f"Source feed (stale when the newest export is over {duration(stale_after)} old)"]
    if not sheets:
        lines.append("  not checked yet: no run has recorded the watermarks")
    lines += [f"  {sheet.describe()}" for sheet in sheets]
    return lines
