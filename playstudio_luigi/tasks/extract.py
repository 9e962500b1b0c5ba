"""Extract: an interval's slice of the source workbook, staged in PostgreSQL.

The slice lands in the database (``staging``), not on local disk, so that the next task may run
on another worker machine. The parsed workbook itself is cached per content hash
(:mod:`playstudio_luigi.source.versions`): one parse per source version, not one per interval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from playstudio_luigi.db.copy import copy_arrow
from playstudio_luigi.intervals import Interval
from playstudio_luigi.quality.quarantine import quarantine_rows
from playstudio_luigi.quality.validation import Limits, validate_batch
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.source.versions import SourceVersion, configured_version
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, IntervalTask, Written


def slice_fingerprint(rows: pa.Table) -> str:
    """Content hash of an interval's source rows (row numbers included), to detect changes.

    Independent of how the table is chunked, so a slice cut from a day equals the same slice
    cut on its own.
    """
    digest = hashlib.sha256()
    for batch in rows.combine_chunks().to_batches():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def interval_slices(
    version: SourceVersion, layout: SheetLayout, starts: Sequence[datetime]
) -> dict[datetime, pa.Table]:
    """Each interval's source rows (in source-row order), cut from one slice of the version."""
    covering = Interval(starts[0], starts[-1] + layout.width)
    rows = version.slice(layout.kind, covering)
    minutes = int(layout.width.total_seconds() // 60)
    floors = pc.floor_temporal(rows["event_time"], multiple=minutes, unit="minute")
    return {start: rows.filter(pc.equal(floors, pa.scalar(start, floors.type))) for start in starts}


class ExtractTask(IntervalTask):
    """An interval's slice of one source sheet (``layout``), staged for validation."""

    layout: ClassVar[SheetLayout]
    layer = "bronze"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "layout" in cls.__dict__:
            cls.reads = (f"sheet:{cls.layout.name}",)
            # ops.quarantine: rows without a readable date
            cls.writes = (f"staging.{cls.layout.staging_table}", "ops.quarantine")

    def prepare(self, starts: Sequence[datetime]) -> tuple[SourceVersion, dict]:
        version = configured_version()
        return version, interval_slices(version, self.layout, starts)

    def source_sha256(self, prepared: tuple[SourceVersion, dict]) -> str:
        return prepared[0].sha256

    def write(
        self,
        cursor: psycopg2.extensions.cursor,
        starts: Sequence[datetime],
        prepared: tuple[SourceVersion, dict[datetime, pa.Table]],
    ) -> Written:
        version, slices = prepared
        cursor.execute(
            sql.SQL("delete from staging.{} where interval_start = any(%s::timestamp[])").format(
                sql.Identifier(self.layout.staging_table)
            ),
            (list(starts),),
        )
        extracted_at = datetime.now(UTC)
        staged = []
        for start in starts:
            rows = slices[start]
            n = rows.num_rows
            if not n:
                continue
            rows = rows.append_column("interval_start", pa.array([start] * n, pa.timestamp("s")))
            rows = rows.append_column("source_path", pa.array([str(version.path)] * n))
            rows = rows.append_column("source_sha256", pa.array([version.sha256] * n))
            staged.append(
                rows.append_column(
                    "extracted_at", pa.array([extracted_at] * n, pa.timestamp("us", tz="UTC"))
                )
            )
        if staged:
            copy_arrow(cursor, "staging", self.layout.staging_table, pa.concat_tables(staged))
        undated = self._quarantine_undated(cursor, version)
        return Written(
            {
                start: {
                    "sheet": self.layout.name,
                    "source_path": str(version.path),
                    "source_rows": slices[start].num_rows,
                    "slice_sha256": slice_fingerprint(slices[start]),
                    "undated_rows_in_source": undated,
                }
                for start in starts
            }
        )

    def _quarantine_undated(
        self, cursor: psycopg2.extensions.cursor, version: SourceVersion
    ) -> int:
        """Rows without a readable date belong to no interval; quarantine them (once per source
        version) so that no source row goes unaccounted for."""
        undated = version.undated(self.layout.kind).to_pandas()
        if undated.empty:
            return 0
        undated = undated.assign(source_path=str(version.path), source_sha256=version.sha256)
        result = validate_batch(undated, self.layout, Limits.from_config())
        quarantine_rows(
            cursor, self.layout, undated, result.rejected, self.get_task_family(), undated=True
        )
        return len(undated)


class ExtractPurchases(ExtractTask, FiveMinuteTask):
    """Purchases with event times in [interval, interval + 5 min), staged for validation."""

    layout = PURCHASES


class ExtractSpins(ExtractTask, HourTask):
    """Spin rows of [hour, hour + 1 h), staged for validation."""

    layout = SPINS
