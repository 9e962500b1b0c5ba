"""Validate: Pandera over an interval's staged rows; rejected rows go to ``ops.quarantine``."""

from __future__ import annotations

from typing import Any, ClassVar

import luigi
import pandas as pd
import psycopg2.extensions
from psycopg2.extras import Json, execute_values

from playstudio_luigi.db.sql import render
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins
from playstudio_luigi.validation import validate_batch


class ValidateMixin:
    """Shared run logic of the two validation tasks."""

    kind: ClassVar[str]
    layout: ClassVar[SheetLayout]
    staging_table: ClassVar[str]

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        value_columns = [f for f in self.layout.fields if f not in ("event_time", "user_id")]
        cursor.execute(
            render(
                "staging/select_batch.sql", table=self.staging_table, value_columns=value_columns
            ),
            {"interval_start": self.window.start},
        )
        names = [column.name for column in cursor.description]
        batch = pd.DataFrame(cursor.fetchall(), columns=names)
        result = validate_batch(batch, self.kind)

        cursor.execute(
            render("quarantine/delete_interval.sql"),
            {"sheet": self.layout.name, "interval_start": self.window.start},
        )
        if result.rejected:
            header_of = {field: header for header, field in self.layout.columns.items()}
            rejected = batch[batch["source_row"].isin(result.rejected.keys())]
            rows = [
                (
                    self.window.start,
                    self.layout.name,
                    int(record["source_row"]),
                    record["source_path"],
                    record["source_sha256"],
                    Json({header_of[f]: _as_text(record[f]) for f in self.layout.fields}),
                    result.rejected[int(record["source_row"])],
                    self.get_task_family(),
                )
                for record in rejected.to_dict("records")
            ]
            execute_values(cursor, render("quarantine/insert.sql"), rows)
        return {
            "sheet": self.layout.name,
            "source_rows": len(batch),
            "accepted_rows": result.accepted_count(len(batch)),
            "quarantined_rows": len(result.rejected),
        }


def _as_text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


class ValidatePurchases(ValidateMixin, FiveMinuteTask):
    """Validate the staged purchases of one 5-minute interval."""

    kind = "purchases"
    layout = PURCHASES
    staging_table = "extract_purchases"

    def requires(self) -> luigi.Task:
        return ExtractPurchases(interval=self.interval)


class ValidateSpins(ValidateMixin, HourTask):
    """Validate the staged spin rows of one hour."""

    kind = "spins"
    layout = SPINS
    staging_table = "extract_spins"

    def requires(self) -> luigi.Task:
        return ExtractSpins(hour=self.hour)
