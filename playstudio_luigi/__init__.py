"""playstudio_luigi: PlayStudio purchase and spin exports into a PostgreSQL warehouse.

Importing the package loads its default configuration (below your own ``luigi.cfg``) and
exposes the public tasks, so ``luigi --module playstudio_luigi HourlyPipeline --hour …`` and
``luigi.build([playstudio_luigi.GoldAggregate(hour=…)])`` both work from any directory.
"""

from playstudio_luigi import command_errors
from playstudio_luigi.config import load_packaged_defaults
from playstudio_luigi.redaction import install_log_redaction

load_packaged_defaults()
install_log_redaction()
command_errors.install()

from playstudio_luigi.alerts.handlers import register as _register_alerts  # noqa: E402

# Luigi's range tools (building every interval they are asked for), re-exported so
# `luigi --module playstudio_luigi RangeHourly ...` works.
from playstudio_luigi.operations.ranges import RangeByMinutes, RangeDaily, RangeHourly  # noqa: E402
from playstudio_luigi.operations.reconcile import Reconcile  # noqa: E402
from playstudio_luigi.tasks.base import IntervalTask  # noqa: E402
from playstudio_luigi.tasks.batch import DayPipeline  # noqa: E402
from playstudio_luigi.tasks.bronze import LoadBronzePurchases, LoadBronzeSpins  # noqa: E402
from playstudio_luigi.tasks.extract import ExtractPurchases, ExtractSpins  # noqa: E402
from playstudio_luigi.tasks.gold import GoldAggregate  # noqa: E402
from playstudio_luigi.tasks.pipelines import FiveMinutePipeline, HourlyPipeline  # noqa: E402
from playstudio_luigi.tasks.silver import SilverPurchases, SilverSpins  # noqa: E402
from playstudio_luigi.tasks.validate import ValidatePurchases, ValidateSpins  # noqa: E402

_register_alerts(IntervalTask, DayPipeline)

__version__ = "0.1.0"

__all__ = [
    "DayPipeline",
    "ExtractPurchases",
    "ExtractSpins",
    "FiveMinutePipeline",
    "GoldAggregate",
    "HourlyPipeline",
    "LoadBronzePurchases",
    "LoadBronzeSpins",
    "RangeByMinutes",
    "RangeDaily",
    "RangeHourly",
    "Reconcile",
    "SilverPurchases",
    "SilverSpins",
    "ValidatePurchases",
    "ValidateSpins",
]
