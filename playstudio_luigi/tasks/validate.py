"""Validate: Pandera over an interval's staged rows; rejected rows go to ``ops.quarantine``."""

from __future__ import annotations

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
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins
from playstudio_luigi.validation import batch_rejection, validate_batch


class ValidateMixin:
    """Shared run logic of the two validation tasks."""

    kind: ClassVar[str]
    layout: ClassVar[SheetLayout]
    staging_table: ClassVar[str]

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        cursor.execute(
            render(
                "staging/select_batch.sql",
                table=self.staging_table,
                value_columns=self.layout.staged_value_columns,
            ),
            {"interval_start": self.window.start},
        )
        names = [column.name for column in cursor.description]
        batch = pd.DataFrame(cursor.fetchall(), columns=names)
        result = validate_batch(batch, self.kind, self.window)
        self._ingest_results = self._warnings(result)

        settings = playstudio()
        rejection = batch_rejection(
            result,
            f"{self.layout.name} {self.window}",
            settings.max_reject_ratio,
            settings.reject_ratio_min_rows,
        )
        if rejection is not None:
            sample = [{"rejected_rows": len(result.rejected), "source_rows": result.source_rows}]
            failed = CheckResult(INGEST_CHECKS["reject_ratio"], len(result.rejected), sample)
            raise CheckFailedError(self.task_id, [failed], message=rejection)

        warn_ratio = slack().quarantine_warn_ratio
        self._quarantine_warning = (
            (
                f"{self.layout.name} {self.window}: {len(result.rejected)} of "
                f"{result.source_rows} rows ({result.reject_ratio:.0%}) quarantined, above "
                f"[slack] quarantine_warn_ratio = {warn_ratio:g}; see ops.quarantine"
            )
            if result.rejected and result.reject_ratio > warn_ratio
            else None
        )
        cursor.execute(
            render("quarantine/delete_interval.sql"),
            {"sheet": self.layout.name, "interval_start": self.window.start},
        )
        quarantine_rows(
            cursor, self.layout, batch, result.rejected, self.window.start, self.get_task_family()
        )
        return {
            "sheet": self.layout.name,
            "source_rows": result.source_rows,
            "accepted_rows": result.accepted_rows,
            "quarantined_rows": len(result.rejected),
            "warned_rows": len(result.warnings),
        }

    def _warnings(self, result) -> list[CheckResult]:
        if self.kind != "spins" or not playstudio().accepted_countries:
            return []
        sample = [{"source_row": row, "warnings": found} for row, found in result.warnings.items()]
        return [CheckResult(INGEST_CHECKS["country_known"], len(result.warnings), sample[:5])]

    def check(self, cursor: psycopg2.extensions.cursor) -> list[CheckResult]:
        return getattr(self, "_ingest_results", [])

    def run(self) -> None:
        super().run()
        warning = getattr(self, "_quarantine_warning", None)
        if warning:  # after the commit: the rows are in quarantine when the alert arrives
            report(self, "QUARANTINE", warning, "QuarantineWarning")


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
