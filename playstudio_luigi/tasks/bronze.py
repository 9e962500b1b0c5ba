"""Bronze: the accepted rows of an interval, source values untouched, with provenance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import luigi
import psycopg2.errors
import psycopg2.extensions

from playstudio_luigi.db.sql import render
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, Written
from playstudio_luigi.tasks.validate import ValidatePurchases, ValidateSpins


class ConservationError(RuntimeError):
    """Source rows of an interval are not exactly bronze rows plus quarantined rows."""


class BronzeMixin:
    """Shared run logic of the two bronze loads."""

    layout: ClassVar[SheetLayout]
    table: ClassVar[str]
    staging_table: ClassVar[str]
    distinct_key: ClassVar[str]  # SQL expression: what "the same row" means after dedup

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        context = {
            "table": self.table,
            "staging_table": self.staging_table,
            "distinct_key": self.distinct_key,
            "value_columns": [f for f in self.layout.fields if f not in ("event_time", "user_id")],
        }
        params = {"starts": list(starts), "sheet": self.layout.name}
        cursor.execute(render("bronze/load.sql", **context), params)
        try:
            cursor.execute(render("bronze/conservation.sql", **context), params)
        except psycopg2.errors.CheckViolation as exc:
            raise ConservationError(
                f"{self.layout.name} {self._label(starts)}: source rows != loaded + "
                "quarantined rows; nothing was written"
            ) from exc
        return {
            start: {
                "sheet": self.layout.name,
                "source_rows": source_rows,
                "bronze_rows": loaded_rows,
                "quarantined_rows": quarantined_rows,
                "distinct_rows": distinct_rows,
            }
            for start, source_rows, loaded_rows, quarantined_rows, distinct_rows in cursor
        }


class LoadBronzePurchases(BronzeMixin, FiveMinuteTask):
    """Accepted purchases of one 5-minute interval into ``bronze.bronze_purchases``."""

    layout = PURCHASES
    table = "bronze_purchases"
    staging_table = "extract_purchases"
    distinct_key = "lower(btrim(transaction_id))"
    reads = ("staging.extract_purchases", "ops.quarantine")
    writes = ("bronze.bronze_purchases", "ops.interval_loads")

    def requires(self) -> luigi.Task:
        return ValidatePurchases(interval=self.interval)


class LoadBronzeSpins(BronzeMixin, HourTask):
    """Accepted spin rows of one hour into ``bronze.bronze_spins_hourly``."""

    layout = SPINS
    table = "bronze_spins_hourly"
    staging_table = "extract_spins"
    distinct_key = "(btrim(user_id), btrim(country))"
    reads = ("staging.extract_spins", "ops.quarantine")
    writes = ("bronze.bronze_spins_hourly", "ops.interval_loads")

    def requires(self) -> luigi.Task:
        return ValidateSpins(hour=self.hour)
