"""Bronze purchases loaded directly, as a feed of many export files would load them: silver's
decisions across files and intervals are tested on real tables without writing the files.

:func:`load_purchases` replaces one interval's bronze rows as a (re)load does: the markers of
the interval's chain and of everything downstream go first (as ``reconcile`` drops them), then
the rows and the bronze chain's markers, in one transaction. The silver and gold tasks then
run as usual on top (their inputs' markers are there).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import luigi
import psycopg2.extensions
import pytest
from psycopg2.extras import execute_values

from playstudio_luigi import (
    ExtractPurchases,
    ExtractSpins,
    LoadBronzePurchases,
    LoadBronzeSpins,
    ValidatePurchases,
    ValidateSpins,
    config,
)
from playstudio_luigi.db import markers, models
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.intervals import FIVE_MINUTES, five_minute_starts, floor_to
from playstudio_luigi.operations.invalidate import forget_markers
from playstudio_luigi.testing import table_rows

#: Silver's columns that carry the decision (the model's: all but the written-at time).
SILVER_COLUMNS = models.SILVER_PURCHASES.columns


@dataclass(frozen=True)
class Copy:
    """One bronze purchase row: a copy of a transaction in one file."""

    transaction_id: str
    event_time: datetime
    user_id: str
    revenue: str
    source_path: str
    source_row: int

    @property
    def interval_start(self) -> datetime:
        return floor_to(self.event_time, FIVE_MINUTES)

    @property
    def source_sha256(self) -> str:
        return f"sha256-of-{self.source_path}"


@contextmanager
def without_exports(folder: Path) -> Iterator[None]:
    """Bronze comes from these helpers, not from export files: the source is an empty folder,
    and intervals are closed by the clock (``[playstudio] watermark = none``), so that bulk
    runs build what is loaded and read no file."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = luigi.configuration.get_config()
    had = settings.has_option("playstudio", "watermark")
    previous = settings.get("playstudio", "watermark") if had else None
    settings.set("playstudio", "watermark", "none")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.SOURCE_ENV, str(folder))
        try:
            yield
        finally:
            if had:
                settings.set("playstudio", "watermark", previous)
            else:
                settings.remove_option("playstudio", "watermark")


def _mark(cursor: psycopg2.extensions.cursor, tasks: Iterable[type], starts: list[datetime]):
    for task in tasks:
        details = {start: {"bronze_rows": 0, "source_rows": 0} for start in starts}
        markers.write_markers(cursor, task.marker_family(), details, "tests.bronze_loads")


def load_purchases(start: datetime, copies: Sequence[Copy]) -> None:
    """Make ``copies`` the bronze purchases of the interval at ``start`` (as a reload does)."""
    assert all(copy.interval_start == start for copy in copies), "copies of another interval"
    with transaction() as connection, connection.cursor() as cursor:
        forget_markers(cursor, {ExtractPurchases: [start]})
        cursor.execute("delete from bronze.bronze_purchases where interval_start = %s", (start,))
        execute_values(
            cursor,
            "insert into bronze.bronze_purchases (interval_start, event_time, user_id, revenue,"
            " transaction_id, source_path, source_sha256, source_sheet, source_row,"
            " extracted_at) values %s",
            [
                (
                    start,
                    c.event_time,
                    c.user_id,
                    c.revenue,
                    c.transaction_id,
                    c.source_path,
                    c.source_sha256,
                    "Purchases",
                    c.source_row,
                    datetime.now(UTC),
                )
                for c in copies
            ],
        )
        _mark(cursor, (ExtractPurchases, ValidatePurchases, LoadBronzePurchases), [start])


def load_empty_hours(hours: Iterable[datetime]) -> None:
    """Every purchase interval and the spins of ``hours`` loaded, empty (their markers)."""
    hours = sorted(hours)
    starts = [start for hour in hours for start in five_minute_starts(hour)]
    with transaction() as connection, connection.cursor() as cursor:
        _mark(cursor, (ExtractPurchases, ValidatePurchases, LoadBronzePurchases), starts)
        _mark(cursor, (ExtractSpins, ValidateSpins, LoadBronzeSpins), hours)


def load_all(copies: Iterable[Copy], hours: Iterable[datetime]) -> None:
    """Every interval of ``hours`` loaded with its share of ``copies`` (empty ones too)."""
    load_empty_hours(hours)
    by_interval: dict[datetime, list[Copy]] = {}
    for copy in copies:
        by_interval.setdefault(copy.interval_start, []).append(copy)
    for start, rows in sorted(by_interval.items()):
        load_purchases(start, rows)


def silver(connection: psycopg2.extensions.connection) -> list[tuple]:
    return table_rows(connection, "silver.silver_purchases", SILVER_COLUMNS)


def marker_of(
    connection: psycopg2.extensions.connection, family: str, start: datetime
) -> str | None:
    """The task id that wrote the marker, or None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select task_id from ops.task_markers where task_family = %s and interval_start = %s",
            (family, start),
        )
        row = cursor.fetchone()
    return row[0] if row else None


def at(moment: datetime, seconds: int = 0) -> datetime:
    return moment + timedelta(seconds=seconds)
