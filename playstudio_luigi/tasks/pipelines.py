"""Entry points for cron: one 5-minute interval through silver, one hour through gold."""

from __future__ import annotations

import luigi

from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask
from playstudio_luigi.tasks.gold import GoldAggregate
from playstudio_luigi.tasks.silver import SilverPurchases
from playstudio_luigi.tasks.status_messages import report_progress, rows_message


class FiveMinutePipeline(FiveMinuteTask, luigi.WrapperTask):
    """Everything for one 5-minute interval of purchases, through ``silver_purchases``."""

    completion = SilverPurchases

    def requires(self) -> luigi.Task:
        return SilverPurchases(interval=self.interval)

    def complete(self) -> bool:
        return self.output().exists()

    def run(self) -> None:
        """Nothing of its own: complete once its requirement is; luigid shows its rows."""
        report_progress(self, f"{self.window}: done; rows: {_chain_rows(self)}", 100)


class HourlyPipeline(HourTask, luigi.WrapperTask):
    """Everything for one hour, through ``gold.aggregated_final_table``."""

    completion = GoldAggregate

    def requires(self) -> luigi.Task:
        return GoldAggregate(hour=self.hour)

    def complete(self) -> bool:
        return self.output().exists()

    def run(self) -> None:
        """Nothing of its own: complete once its requirement is; luigid shows its rows."""
        report_progress(self, f"{self.window}: done; rows: {_chain_rows(self)}", 100)


def _chain_rows(pipeline: FiveMinuteTask | HourTask) -> str:
    """The rows every task of the pipeline's chain wrote for its window (their markers)."""
    chain = graph.current().chain(type(pipeline).completion)
    return rows_message([task.marker_family() for task in chain], pipeline.window)
