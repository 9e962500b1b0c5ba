"""Extract: an interval's rows from the source's export files, staged in PostgreSQL.

The rows land in the database (``staging``), not on local disk, so that the next task may run
on another worker machine. Which files hold rows of the interval comes from the catalog
(:mod:`playstudio_luigi.source.catalog`); each file version is parsed once per machine
(:mod:`playstudio_luigi.source.versions`), not once per interval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import luigi
import numpy as np
import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from playstudio_luigi import config
from playstudio_luigi.db.copy import copy_arrow
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import Interval, IntervalNotClosedError
from playstudio_luigi.quality.quarantine import quarantine_rows
from playstudio_luigi.quality.validation import Limits, validate_batch
from playstudio_luigi.source import catalog
from playstudio_luigi.source.reader import SourceFormatError
from playstudio_luigi.source.schema import LAYOUTS, PURCHASES, SPINS, SheetLayout
from playstudio_luigi.source.versions import SourceVersion, cached_schema
from playstudio_luigi.tasks.base import FiveMinuteTask, HourTask, IntervalTask, Written

logger = logging.getLogger("luigi-interface")


#: A listing this recent answers the completeness checks of a run (see ``catalog.sync``).
RUN_LISTING_SECS = 5.0


class WaitingForExportError(IntervalNotClosedError):
    """The source does not cover the interval yet (DESIGN 3.3): nothing was loaded for it."""


@dataclass(frozen=True)
class Extracted:
    """What :meth:`ExtractTask.prepare` read: each interval's rows, with their provenance."""

    slices: dict[datetime, pa.Table]
    fingerprints: dict[datetime, str]
    versions: list[SourceVersion]
    #: File versions with rows without a readable date, and how many each has.
    undated: list[tuple[SourceVersion, int]]


def with_provenance(rows: pa.Table, version: SourceVersion) -> pa.Table:
    """``rows`` of ``version`` with the file's path and content hash on every row."""
    n = rows.num_rows
    rows = rows.append_column("source_path", pa.array([str(version.path)] * n, pa.string()))
    return rows.append_column("source_sha256", pa.array([version.sha256] * n, pa.string()))


def interval_slices(
    versions: Sequence[SourceVersion], layout: SheetLayout, starts: Sequence[datetime]
) -> dict[datetime, pa.Table]:
    """Each interval's source rows from every file version holding some (by path, then source
    row), cut from one slice of each version."""
    covering = Interval(starts[0], starts[-1] + layout.width)
    parts = [with_provenance(v.slice(layout.kind, covering), v) for v in versions]
    schema = cached_schema(layout).append(pa.field("source_path", pa.string()))
    schema = schema.append(pa.field("source_sha256", pa.string()))
    rows = pa.concat_tables(parts) if parts else schema.empty_table()
    return slices_by_start(rows, layout.width, starts)


def slices_by_start(
    rows: pa.Table, width: timedelta, starts: Sequence[datetime]
) -> dict[datetime, pa.Table]:
    """The rows whose ``event_time`` lies in ``[start, start + width)``, per start, in their
    order. One stable sort by interval and a slice per start, rather than a filter over every
    row per start (a day has 288 five-minute starts)."""
    minutes = int(width.total_seconds() // 60)
    floors = pc.floor_temporal(rows["event_time"], multiple=minutes, unit="minute")
    order = pc.array_sort_indices(floors, null_placement="at_end")  # stable
    rows = rows.take(order)
    keys = pc.fill_null(floors.take(order).cast(pa.int64()), np.iinfo(np.int64).max).to_numpy()
    wanted = pa.array(starts, floors.type).cast(pa.int64()).to_numpy()
    first = np.searchsorted(keys, wanted, side="left")
    last = np.searchsorted(keys, wanted, side="right")
    return {
        start: rows.slice(begin, end - begin)
        for start, begin, end in zip(starts, first, last, strict=True)
    }


def _single_file_problem(found: catalog.Catalog, layout: SheetLayout) -> str | None:
    """For a source that is one workbook: why it cannot give ``layout``'s sheet, or None."""
    entry = found.only_file(layout)  # indexes that sheet if no run has yet
    if entry is None:
        return None
    if entry.error is not None:
        return entry.error
    sheet = entry.sheets.get(layout.kind)
    if sheet is None:
        return f"{entry.path}: sheet {layout.name!r} not found"
    return sheet.error


class ExtractTask(IntervalTask):
    """An interval's slice of one source sheet (``layout``), from every export file holding
    rows of it, staged for validation. Requires the source to cover the interval
    (:class:`SourceCovers`): a run for an interval not covered yet waits instead."""

    layout: ClassVar[SheetLayout]
    layer = "bronze"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "layout" in cls.__dict__:
            cls.reads = (f"sheet:{cls.layout.name}",)
            cls.source_layout = cls.layout
            # ops.quarantine: rows without a readable date
            cls.writes = (f"staging.{cls.layout.staging_table}", "ops.quarantine")

    def requires(self) -> luigi.Task:
        return SourceCovers(sheet=self.layout.kind, start=self.window.start)

    def prepare(self, starts: Sequence[datetime]) -> Extracted:
        # A fresh listing: the rows read must be those of the files there now (an export
        # written seconds ago must not be read as the previous version's, or missed).
        found = catalog.sync()
        if found.single_file:
            problem = _single_file_problem(found, self.layout)
            if problem is not None:
                raise SourceFormatError(problem)
        lateness = config.allowed_lateness()
        waiting = [
            self.window_of(start)
            for start in starts
            if not found.covers(self.layout, self.window_of(start), lateness)
        ]
        if waiting:
            raise WaitingForExportError(found.waiting_message(self.layout, waiting, lateness))
        covering = Interval(starts[0], starts[-1] + self.layout.width)
        versions = found.versions_covering(self.layout, covering)
        for version in versions:
            found.check_current(version)
        return Extracted(
            interval_slices(versions, self.layout, starts),
            found.fingerprints(self.layout, starts),
            versions,
            found.versions_with_undated(self.layout),
        )

    def source_sha256(self, prepared: Extracted) -> dict[datetime, str | None]:
        """Per interval, the one file version its rows came from (None: none, or several):
        the same whether the interval was extracted alone or in a day's batch."""
        found = {}
        for start, rows in prepared.slices.items():
            shas = pc.unique(rows["source_sha256"]).to_pylist()
            found[start] = shas[0] if len(shas) == 1 else None
        return found

    def write(
        self,
        cursor: psycopg2.extensions.cursor,
        starts: Sequence[datetime],
        prepared: Extracted,
    ) -> Written:
        slices = prepared.slices
        cursor.execute(
            sql.SQL("delete from staging.{} where interval_start = any(%s::timestamp[])").format(
                sql.Identifier(self.layout.staging_table)
            ),
            (list(starts),),
        )
        staged = []  # extracted_at: the column's default, this transaction's time
        for start in starts:
            rows = slices[start]
            n = rows.num_rows
            if n:
                staged.append(
                    rows.append_column("interval_start", pa.array([start] * n, pa.timestamp("s")))
                )
        if staged:
            copy_arrow(cursor, "staging", self.layout.staging_table, pa.concat_tables(staged))
        for version, _ in prepared.undated:
            self._quarantine_undated(cursor, version)
        undated = sum(count for _, count in prepared.undated)
        details = {}
        for start in starts:
            paths = pc.unique(slices[start]["source_path"]).to_pylist()
            details[start] = {
                "sheet": self.layout.name,
                "source_files": len(paths),
                "source_rows": slices[start].num_rows,
                "slice_sha256": prepared.fingerprints[start],
                "undated_rows_in_source": undated,
            }
            if len(paths) == 1:
                details[start]["source_path"] = paths[0]
        return Written(details)

    def _quarantine_undated(
        self, cursor: psycopg2.extensions.cursor, version: SourceVersion
    ) -> None:
        """Rows without a readable date belong to no interval; quarantine them (once per file
        version) so that no source row goes unaccounted for."""
        cursor.execute(
            render("quarantine/has_undated.sql"),
            {"sheet": self.layout.name, "sha256": version.sha256},
        )
        if cursor.fetchone()[0]:
            return
        undated = version.undated(self.layout.kind).to_pandas()
        if undated.empty:
            return
        undated = undated.assign(source_path=str(version.path), source_sha256=version.sha256)
        result = validate_batch(undated, self.layout, Limits.from_config())
        quarantine_rows(
            cursor, self.layout, undated, result.rejected, self.get_task_family(), undated=True
        )


class SourceCoverage(luigi.LocalTarget):
    """Whether the source covers ``window`` of ``layout``'s sheet, as a target on the source's
    path (so ``luigi-deps`` names the source): it exists once the sheet's watermark has passed
    the window's end plus the allowed lateness (DESIGN 3.3)."""

    def __init__(self, layout: SheetLayout, window: Interval) -> None:
        try:
            where = catalog.source_spec()
        except config.ConfigurationError:
            where = "(no source configured)"
        super().__init__(where)
        self.layout, self.window = layout, window

    def exists(self) -> bool:
        try:
            lateness = config.allowed_lateness()
            # Luigi asks this of every interval of a graph: "covered" from a catalog listed a
            # few seconds ago stands (the extract lists again before it reads); "not covered"
            # is asked of a fresh listing, so a new export counts at once.
            if catalog.sync(reuse_within=RUN_LISTING_SECS).covers(
                self.layout, self.window, lateness
            ):
                return True
            return catalog.sync().covers(self.layout, self.window, lateness)
        except (SourceFormatError, config.ConfigurationError):
            # No source to wait for: the extract runs and fails with this error, as a task
            # failure (one line, an alert, [retcode] task_failed), not a scheduling error.
            return True


class SourceCovers(luigi.ExternalTask):
    """The source covers one interval of one sheet: the sheet's watermark (the newest export
    holding it, DESIGN 3.3) has passed the interval's end plus the allowed lateness.

    An external task: while it is incomplete Luigi runs nothing that needs it and reports the
    run as missing data (``[retcode] missing_data``), naming the wait in one line."""

    sheet = luigi.ChoiceParameter(
        choices=list(LAYOUTS), var_type=str, description="The sheet: purchases or spins."
    )
    start = luigi.DateMinuteParameter(description="Start of the interval, UTC.")
    # It moves no data (the data docs' table lineage reads these of every task).
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    @property
    def layout(self) -> SheetLayout:
        return LAYOUTS[self.sheet]

    @property
    def window(self) -> Interval:
        return Interval(self.start, self.start + self.layout.width)

    def output(self) -> SourceCoverage:
        return SourceCoverage(self.layout, self.window)

    def waiting_message(self) -> str:
        found = catalog.sync(reuse_within=RUN_LISTING_SECS)
        return found.waiting_message(self.layout, [self.window], config.allowed_lateness())


@SourceCovers.event_handler(luigi.Event.DEPENDENCY_MISSING)
def _say_what_it_waits_for(task: SourceCovers) -> None:
    logger.warning("%s", task.waiting_message())


class ExtractPurchases(ExtractTask, FiveMinuteTask):
    """Purchases with event times in [interval, interval + 5 min), staged for validation."""

    layout = PURCHASES


class ExtractSpins(ExtractTask, HourTask):
    """Spin rows of [hour, hour + 1 h), staged for validation."""

    layout = SPINS
