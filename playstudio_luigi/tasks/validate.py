"""Validate: Pandera over an interval's staged rows; rejected rows go to ``ops.quarantine``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import luigi
import pandas as pd
import psycopg2.extensions

from playstudio_luigi.alerts.config import slack
from playstudio_luigi.alerts.handlers import report
from playstudio_luigi.checks import INGEST_CHECKS, CheckFailedError, CheckResult
from playstudio_luigi.config import playstudio
from playstudio_luigi.db.sql import render
from playstudio_luigi.quarantine import quarantine_rows
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, Written
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins
from playstudio_luigi.validation import ValidationResult, batch_rejection, validate_batch


class ValidateMixin:
    """Shared run logic of the two validation tasks."""

    kind: ClassVar[str]
    layout: ClassVar[SheetLayout]
    staging_table: ClassVar[str]

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        cursor.execute(
            render(
                "staging/select_batch.sql",
                table=self.staging_table,
                value_columns=self.layout.staged_value_columns,
            ),
            {"starts": list(starts)},
        )
        names = [column.name for column in cursor.description]
        batch = pd.DataFrame(cursor.fetchall(), columns=names)
        result = validate_batch(batch, self.kind)
        self._ingest_results = self._warnings(result)

        settings = playstudio()
        batch_starts = [pd.Timestamp(start).to_pydatetime() for start in batch["interval_start"]]
        interval_of = dict(zip(batch["source_row"], batch_starts, strict=True))
        per_interval = {start: ValidationResult() for start in starts}
        for start, rows in Counter(batch_starts).items():
            per_interval[start].source_rows = rows
        for row, reasons in result.rejected.items():
            per_interval[interval_of[row]].rejected[row] = reasons
        for row, found in result.warnings.items():
            per_interval[interval_of[row]].warnings[row] = found

        warn_ratio = slack().quarantine_warn_ratio
        self._quarantine_warnings = []
        for start, interval_result in per_interval.items():
            what = f"{self.layout.name} {self.window_of(start)}"
            rejection = batch_rejection(
                interval_result, what, settings.max_reject_ratio, settings.reject_ratio_min_rows
            )
            if rejection is not None:
                rejected = len(interval_result.rejected)
                sample = [{"rejected_rows": rejected, "source_rows": interval_result.source_rows}]
                failed = CheckResult(INGEST_CHECKS["reject_ratio"], rejected, sample)
                raise CheckFailedError(self.task_id, [failed], message=rejection)
            if interval_result.rejected and interval_result.reject_ratio > warn_ratio:
                self._quarantine_warnings.append(
                    f"{what}: {len(interval_result.rejected)} of {interval_result.source_rows} "
                    f"rows ({interval_result.reject_ratio:.0%}) quarantined, above [slack] "
                    f"quarantine_warn_ratio = {warn_ratio:g}; see ops.quarantine"
                )
        cursor.execute(
            render("quarantine/delete_intervals.sql"),
            {"sheet": self.layout.name, "starts": list(starts)},
        )
        quarantine_rows(cursor, self.layout, batch, result.rejected, self.get_task_family())
        return {
            start: {
                "sheet": self.layout.name,
                "source_rows": found.source_rows,
                "accepted_rows": found.accepted_rows,
                "quarantined_rows": len(found.rejected),
                "warned_rows": len(found.warnings),
            }
            for start, found in per_interval.items()
        }

    def _warnings(self, result) -> list[CheckResult]:
        if self.kind != "spins" or not playstudio().accepted_countries:
            return []
        sample = [{"source_row": row, "warnings": found} for row, found in result.warnings.items()]
        return [CheckResult(INGEST_CHECKS["country_known"], len(result.warnings), sample[:5])]

    def check(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime]
    ) -> list[CheckResult]:
        return getattr(self, "_ingest_results", [])

    def run_intervals(self, starts: Sequence[datetime], run_id: str | None = None) -> Written:
        written = super().run_intervals(starts, run_id)
        # After the commit: the rows are in quarantine when the alert arrives.
        for warning in getattr(self, "_quarantine_warnings", []):
            report(self, "QUARANTINE", warning, "QuarantineWarning")
        return written


class ValidatePurchases(ValidateMixin, FiveMinuteTask):
    """Validate the staged purchases of one 5-minute interval."""

    kind = "purchases"
    layout = PURCHASES
    staging_table = "extract_purchases"
    reads = ("staging.extract_purchases",)
    writes = ("ops.quarantine",)

    def requires(self) -> luigi.Task:
        return ExtractPurchases(interval=self.interval)


class ValidateSpins(ValidateMixin, HourTask):
    """Validate the staged spin rows of one hour."""

    kind = "spins"
    layout = SPINS
    staging_table = "extract_spins"
    reads = ("staging.extract_spins",)
    writes = ("ops.quarantine",)

    def requires(self) -> luigi.Task:
        return ExtractSpins(hour=self.hour)
