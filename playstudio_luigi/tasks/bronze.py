"""Bronze: the accepted rows of an interval, source values untouched, with provenance."""

from __future__ import annotations

from typing import Any, ClassVar

import luigi
import psycopg2.extensions

from playstudio_luigi.db.sql import render
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.tasks.validate import ValidatePurchases, ValidateSpins


class ConservationError(RuntimeError):
    """Source rows of an interval are not exactly bronze rows plus quarantined rows."""


class BronzeMixin:
    """Shared run logic of the two bronze loads."""

    layout: ClassVar[SheetLayout]
    table: ClassVar[str]
    staging_table: ClassVar[str]

    def write(self, cursor: psycopg2.extensions.cursor, prepared: Any) -> dict[str, Any]:
        context = {
            "table": self.table,
            "staging_table": self.staging_table,
            "value_columns": [f for f in self.layout.fields if f not in ("event_time", "user_id")],
        }
        params = {"interval_start": self.window.start, "sheet": self.layout.name}
        cursor.execute(render("bronze/load.sql", **context), params)
        cursor.execute(render("bronze/conservation.sql", **context), params)
        source_rows, bronze_rows, quarantined_rows = cursor.fetchone()
        if source_rows != bronze_rows + quarantined_rows:
            raise ConservationError(
                f"{self.layout.name} {self.window}: {source_rows} source rows but "
                f"{bronze_rows} loaded + {quarantined_rows} quarantined; nothing written"
            )
        return {
            "sheet": self.layout.name,
            "source_rows": source_rows,
            "bronze_rows": bronze_rows,
            "quarantined_rows": quarantined_rows,
        }


class LoadBronzePurchases(BronzeMixin, FiveMinuteTask):
    """Accepted purchases of one 5-minute interval into ``bronze.bronze_purchases``."""

    layout = PURCHASES
    table = "bronze_purchases"
    staging_table = "extract_purchases"

    def requires(self) -> luigi.Task:
        return ValidatePurchases(interval=self.interval)


class LoadBronzeSpins(BronzeMixin, HourTask):
    """Accepted spin rows of one hour into ``bronze.bronze_spins_hourly``."""

    layout = SPINS
    table = "bronze_spins_hourly"
    staging_table = "extract_spins"

    def requires(self) -> luigi.Task:
        return ValidateSpins(hour=self.hour)
