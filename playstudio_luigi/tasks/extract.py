"""Extract: an interval's slice of the source workbook, staged in PostgreSQL.

The slice lands in the database (``staging``), not on local disk, so that the next task may run
on another worker machine. The parsed workbook itself is cached per content hash
(:mod:`playstudio_luigi.source.versions`): one parse per source version, not one per interval.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg2.extensions
import pyarrow as pa
from psycopg2 import sql

from playstudio_luigi.db.copy import copy_arrow
from playstudio_luigi.quarantine import quarantine_rows
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.source.versions import SourceVersion, configured_version
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.validation import validate_batch


def slice_fingerprint(rows: pa.Table) -> str:
    """Content hash of an interval's source rows (row numbers included), to detect changes."""
    digest = hashlib.sha256()
    for batch in rows.to_batches():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


class ExtractMixin:
    """Shared run logic of the two extract tasks."""

    kind: ClassVar[str]
    layout: ClassVar[SheetLayout]
    staging_table: ClassVar[str]

    def prepare(self) -> tuple[SourceVersion, pa.Table]:
        version = configured_version()
        return version, version.slice(self.kind, self.window)

    def source_sha256(self, prepared: tuple[SourceVersion, pa.Table]) -> str:
        return prepared[0].sha256

    def write(
        self, cursor: psycopg2.extensions.cursor, prepared: tuple[SourceVersion, pa.Table]
    ) -> dict[str, Any]:
        version, rows = prepared
        cursor.execute(
            sql.SQL("delete from staging.{} where interval_start = %s").format(
                sql.Identifier(self.staging_table)
            ),
            (self.window.start,),
        )
        n = rows.num_rows
        staged = rows.append_column(
            "interval_start", pa.array([self.window.start] * n, pa.timestamp("s"))
        )
        staged = staged.append_column("source_path", pa.array([str(version.path)] * n))
        staged = staged.append_column("source_sha256", pa.array([version.sha256] * n))
        extracted_at = datetime.now(UTC)
        staged = staged.append_column(
            "extracted_at", pa.array([extracted_at] * n, pa.timestamp("us", tz="UTC"))
        )
        copy_arrow(cursor, "staging", self.staging_table, staged)
        return {
            "sheet": self.layout.name,
            "source_path": str(version.path),
            "source_rows": n,
            "slice_sha256": slice_fingerprint(rows),
            "undated_rows_in_source": self._quarantine_undated(cursor, version),
        }

    def _quarantine_undated(
        self, cursor: psycopg2.extensions.cursor, version: SourceVersion
    ) -> int:
        """Rows without a readable date belong to no interval; quarantine them (once per source
        version) so that no source row goes unaccounted for."""
        undated = version.undated(self.kind).to_pandas()
        if undated.empty:
            return 0
        undated = undated.assign(source_path=str(version.path), source_sha256=version.sha256)
        result = validate_batch(undated, self.kind, self.window)
        quarantine_rows(cursor, self.layout, undated, result.rejected, None, self.get_task_family())
        return len(undated)


class ExtractPurchases(ExtractMixin, FiveMinuteTask):
    """Purchases with event times in [interval, interval + 5 min), staged for validation."""

    kind = "purchases"
    layout = PURCHASES
    staging_table = "extract_purchases"
    reads = ("sheet:Purchases",)
    writes = ("staging.extract_purchases", "ops.quarantine")  # rows without a readable date


class ExtractSpins(ExtractMixin, HourTask):
    """Spin rows of [hour, hour + 1 h), staged for validation."""

    kind = "spins"
    layout = SPINS
    staging_table = "extract_spins"
    reads = ("sheet:Spins Hourly",)
    writes = ("staging.extract_spins", "ops.quarantine")  # rows without a readable date
