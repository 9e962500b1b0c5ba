"""Bronze: the accepted rows of an interval, source values untouched, with provenance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import luigi
import psycopg2.errors
import psycopg2.extensions

from playstudio_luigi.db import models
from playstudio_luigi.db.sql import render
from playstudio_luigi.source.schema import PURCHASES, SPINS, SheetLayout
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, IntervalTask, Written
from playstudio_luigi.tasks.validate import ValidatePurchases, ValidateSpins


class ConservationError(RuntimeError):
    """Source rows of an interval are not exactly bronze rows plus quarantined rows."""


class BronzeTask(IntervalTask):
    """Load the accepted rows of one sheet (``layout``) into bronze, and record conservation."""

    layout: ClassVar[SheetLayout]
    layer = "bronze"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "layout" in cls.__dict__:
            cls.reads = (f"staging.{cls.layout.staging_table}", "ops.quarantine")
            cls.writes = (f"bronze.{cls.layout.bronze_table}", "ops.interval_loads")

    def write(
        self, cursor: psycopg2.extensions.cursor, starts: Sequence[datetime], prepared: Any
    ) -> Written:
        layout = self.layout
        models.materialize(cursor, models.BRONZE[layout.kind], starts, sheet=layout.name)
        conservation = render(
            "bronze/conservation.sql",
            table=layout.bronze_table,
            staging_table=layout.staging_table,
            distinct_key=layout.distinct_key,
        )
        try:
            cursor.execute(conservation, {"starts": list(starts), "sheet": layout.name})
        except psycopg2.errors.CheckViolation as exc:
            raise ConservationError(
                f"{layout.name} {self._label(starts)}: source rows != loaded + "
                "quarantined rows; nothing was written"
            ) from exc
        return Written(
            {
                start: {
                    "sheet": layout.name,
                    "source_rows": source_rows,
                    "bronze_rows": loaded_rows,
                    "quarantined_rows": quarantined_rows,
                    "distinct_rows": distinct_rows,
                }
                for start, source_rows, loaded_rows, quarantined_rows, distinct_rows in cursor
            }
        )


class LoadBronzePurchases(BronzeTask, FiveMinuteTask):
    """Accepted purchases of one 5-minute interval into ``bronze.bronze_purchases``."""

    layout = PURCHASES

    def requires(self) -> luigi.Task:
        return ValidatePurchases(interval=self.interval)


class LoadBronzeSpins(BronzeTask, HourTask):
    """Accepted spin rows of one hour into ``bronze.bronze_spins_hourly``."""

    layout = SPINS

    def requires(self) -> luigi.Task:
        return ValidateSpins(hour=self.hour)
