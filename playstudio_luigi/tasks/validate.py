"""Validate: Pandera over an interval's staged rows; rejected rows go to ``ops.quarantine``.

One validation is a few named steps, each a plain function: read the staged batch, validate
it (:func:`~playstudio_luigi.quality.validation.validate_batch`), split the verdicts by
interval, and judge each interval (refused as a whole when too much of it is rejected; an
alert when more than the warning share is). The task only strings them together inside its
transaction and writes quarantine.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import luigi
import pandas as pd
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv

from playstudio_luigi.alerts.config import slack
from playstudio_luigi.config import playstudio
from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.checks import INGEST_CHECKS, CheckFailedError, CheckResult
from playstudio_luigi.quality.quarantine import quarantine_rows
from playstudio_luigi.quality.validation import (
    Limits,
    ValidationResult,
    batch_rejection,
    validate_batch,
)
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, IntervalTask, Notice, Written
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins


@dataclass(frozen=True)
class Thresholds:
    """When an interval's rejected share refuses it, and when it only warns."""

    max_reject_ratio: float
    reject_ratio_min_rows: int
    warn_ratio: float

    @classmethod
    def from_config(cls) -> Thresholds:
        settings = playstudio()
        return cls(
            settings.max_reject_ratio, settings.reject_ratio_min_rows, slack().quarantine_warn_ratio
        )


#: Staged columns that are not cells as text.
_STAGED_TYPES = {
    "interval_start": pa.timestamp("us"),
    "event_time": pa.timestamp("us"),
    "source_row": pa.int64(),
}


def read_staged(
    cursor: psycopg2.extensions.cursor, layout: SheetLayout, starts: Sequence[datetime]
) -> pd.DataFrame:
    """The staged rows of ``starts``, as validation sees them.

    Through COPY into Arrow rather than rows fetched as Python tuples: a day of purchases
    (~30,000 rows) in half the time and a third of the CPU (BENCHMARKS.md). In PostgreSQL's
    CSV a NULL is an unquoted empty field and the empty string a quoted one; Arrow's reader
    keeps them apart the same way.
    """
    query = render(
        "staging/select_batch.sql", table=layout.staging_table, value_columns=layout.value_fields
    )
    bound = cursor.mogrify(query, {"starts": list(starts)}).decode()  # COPY takes no parameters
    buffer = io.BytesIO()
    cursor.copy_expert(f"copy ({bound}) to stdout with (format csv, header true)", buffer)
    names = buffer.getvalue().split(b"\n", 1)[0].decode().split(",")  # the header line
    types = {name: _STAGED_TYPES.get(name, pa.string()) for name in names}
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas()


def validate_by_version(
    batch: pd.DataFrame, layout: SheetLayout, limits: Limits
) -> list[tuple[pd.DataFrame, ValidationResult]]:
    """Validate ``batch`` one file version at a time: each verdict keyed by source row.

    A source row number names a row only within one file version: an interval's rows may come
    from many export files (each with its row 2), and the intervals of a bulk batch may have
    been extracted from two versions of one file (re-written between them), where row 17 is two
    different purchases.
    """
    keys = ["source_path", "source_sha256"]
    if batch.empty or len(batch[keys].drop_duplicates()) <= 1:
        return [(batch, validate_batch(batch, layout, limits))]
    return [
        (rows.reset_index(drop=True), validate_batch(rows, layout, limits))
        for _, rows in batch.groupby(keys, sort=True)
    ]


def merge_results(results: list[tuple[str, ValidationResult]]) -> ValidationResult:
    """One interval's verdict from those of its files: rows keyed by ``(file, source row)``."""
    if len(results) == 1:
        return results[0][1]
    merged = ValidationResult()
    for path, found in results:
        merged.source_rows += found.source_rows
        merged.rejected.update({(path, row): why for row, why in found.rejected.items()})
        merged.warnings.update({(path, row): why for row, why in found.warnings.items()})
    return merged


def split_by_interval(
    batch: pd.DataFrame, result: ValidationResult, starts: Sequence[datetime]
) -> dict[datetime, ValidationResult]:
    """One :class:`ValidationResult` per interval start, from the batch's verdicts."""
    per_interval = {start: ValidationResult() for start in starts}
    if batch.empty:
        return per_interval
    # Vectorised: only rejected and warned rows are looked up one by one.
    interval_of = pd.Series(
        pd.to_datetime(batch["interval_start"]).array, index=batch["source_row"]
    )
    for start, rows in interval_of.value_counts().items():
        per_interval[start.to_pydatetime()].source_rows = int(rows)
    for row, reasons in result.rejected.items():
        per_interval[interval_of[row].to_pydatetime()].rejected[row] = reasons
    for row, found in result.warnings.items():
        per_interval[interval_of[row].to_pydatetime()].warnings[row] = found
    return per_interval


def judge(
    what: str, found: ValidationResult, thresholds: Thresholds
) -> tuple[CheckResult | None, str | None, str | None]:
    """An interval's verdict: ``(failed reject-ratio check, its message, warning)``; the
    first two are set when the interval must be refused, the last when it deserves an alert."""
    rejection = batch_rejection(
        found, what, thresholds.max_reject_ratio, thresholds.reject_ratio_min_rows
    )
    if rejection is not None:
        rejected = len(found.rejected)
        sample = [{"rejected_rows": rejected, "source_rows": found.source_rows}]
        return CheckResult(INGEST_CHECKS["reject_ratio"], rejected, sample), rejection, None
    if found.rejected and found.reject_ratio > thresholds.warn_ratio:
        return (
            None,
            None,
            f"{what}: {len(found.rejected)} of {found.source_rows} rows "
            f"({found.reject_ratio:.0%}) quarantined, above [slack] quarantine_warn_ratio = "
            f"{thresholds.warn_ratio:g}; see ops.quarantine",
        )
    return None, None, None


def country_findings(results: Iterable[ValidationResult], limits: Limits) -> list[CheckResult]:
    """The ``country_known`` ingest check (a warning) over the results of a batch's versions.
    Without accepted countries every code is known (and no row is warned about): it passes."""
    sample = [
        {"source_row": row, "warnings": found}
        for result in results
        for row, found in result.warnings.items()
    ]
    return [CheckResult(INGEST_CHECKS["country_known"], len(sample), sample[:5])]


class ValidateTask(IntervalTask):
    """Validate the staged rows of one sheet (``layout``); rejects go to quarantine."""

    layout: ClassVar[SheetLayout]
    layer = "bronze"
    writes = ("ops.quarantine",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "layout" in cls.__dict__:
            cls.reads = (f"staging.{cls.layout.staging_table}",)

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        limits, thresholds = Limits.from_config(), Thresholds.from_config()
        batch = read_staged(cursor, self.layout, starts)
        verdicts = validate_by_version(batch, self.layout, limits)
        parts: dict[datetime, list[tuple[str, ValidationResult]]] = {s: [] for s in starts}
        for rows, result in verdicts:
            path = rows["source_path"].iloc[0] if not rows.empty else ""
            for start, found in split_by_interval(rows, result, starts).items():
                if found.source_rows:
                    parts[start].append((path, found))
        per_interval = {
            start: merge_results(found) if found else ValidationResult()
            for start, found in parts.items()
        }
        notices = []
        for start, found in per_interval.items():
            what = f"{self.layout.name} {self.window_of(start)}"
            failed, rejection, warning = judge(what, found, thresholds)
            if failed is not None:
                raise CheckFailedError(
                    self.at(start).task_id, [failed], message=rejection, interval_starts=[start]
                )
            if warning is not None:
                notices.append(Notice(start, "QUARANTINE", warning, "QuarantineWarning"))
        cursor.execute(
            render("quarantine/delete_intervals.sql"),
            {"sheet": self.layout.name, "starts": list(starts)},
        )
        for rows, result in verdicts:
            quarantine_rows(cursor, self.layout, rows, result.rejected, self.get_task_family())
        details = {
            start: {
                "sheet": self.layout.name,
                "source_rows": found.source_rows,
                "accepted_rows": found.accepted_rows,
                "quarantined_rows": len(found.rejected),
                "warned_rows": len(found.warnings),
            }
            for start, found in per_interval.items()
        }
        # Recorded when it passes too: the data docs show it run, as every other check.
        findings = [CheckResult(INGEST_CHECKS["reject_ratio"], 0)]
        results = [result for _, result in verdicts]
        findings += country_findings(results, limits) if self.layout is SPINS else []
        return Written(details, findings=findings, notices=notices)


class ValidatePurchases(ValidateTask, FiveMinuteTask):
    """Validate the staged purchases of one 5-minute interval."""

    layout = PURCHASES

    def requires(self) -> luigi.Task:
        return ExtractPurchases(interval=self.interval)


class ValidateSpins(ValidateTask, HourTask):
    """Validate the staged spin rows of one hour."""

    layout = SPINS

    def requires(self) -> luigi.Task:
        return ExtractSpins(hour=self.hour)
