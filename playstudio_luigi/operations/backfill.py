"""Backfills: build gold for a set of hours, one :class:`DayPipeline` per UTC day.

The library's driver behind ``playstudio-luigi backfill`` (and reconcile's rebuilds): Luigi
would schedule about 50 tasks per hour of data if each interval were its own task; a day task
runs every layer over the day's pending intervals in bulk and writes the very markers that
``HourlyPipeline``/``FiveMinutePipeline`` look for.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime

import luigi
from luigi.execution_summary import LuigiStatusCode

from playstudio_luigi import config
from playstudio_luigi.intervals import ONE_HOUR, Interval, floor_hour, hours_between
from playstudio_luigi.operations.drift import count_drifted
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.operations.progress import progress_line
from playstudio_luigi.operations.shared_runs import shared_hours_complete
from playstudio_luigi.source import catalog
from playstudio_luigi.source.reader import SourceFormatError
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.batch import day_tasks
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

logger = logging.getLogger("luigi-interface")

#: How many times a local backfill goes over its hours when some were invalidated meanwhile.
BUILD_ROUNDS = 3


class EmptyRangeError(ValueError):
    """``[start, stop)`` holds no hour to build."""


def build_hours(
    hours: list[datetime],
    *,
    workers: int = 1,
    scheduler_host: str | None = None,
    scheduler_port: int | None = None,
    log_level: str = "WARNING",
    run_token: str = "",
) -> bool:
    """Build gold for each hour (and everything it needs); True if all succeeded.

    ``run_token`` makes the day tasks this run's own (a full refresh sets it): luigid would
    otherwise take days it saw done moments ago for done without asking, and not run them.

    One :class:`~playstudio_luigi.tasks.batch.DayPipeline` per UTC day (or part of one), not
    ~50 tasks per hour: the scheduler stays light for a year, and the markers are the ones
    ``HourlyPipeline``/``FiveMinutePipeline`` look for.
    """
    scheduler: dict[str, object] = {"local_scheduler": scheduler_host is None}
    if scheduler_host is not None:
        scheduler["scheduler_host"] = scheduler_host
        if scheduler_port is not None:
            scheduler["scheduler_port"] = scheduler_port
        # With other workers on the same luigid, wait for the tasks they run instead of
        # leaving (and reporting the backfill unfinished) while they are still at it, but not
        # forever: a task whose worker died stays failed until a worker schedules it again.
        config_parser = luigi.configuration.get_config()
        for option, value in (("keep_alive", "true"), ("max_keep_alive_idle_duration", "600")):
            if not config_parser.has_option("worker", option):
                config_parser.set("worker", option, value)
    for attempt in range(1, BUILD_ROUNDS + 1):
        days = day_tasks(hours, run_token=run_token)
        with progress_line(hours):
            result = luigi.build(
                days,
                workers=workers,
                detailed_summary=True,
                log_level=log_level,
                **scheduler,
            )
        if not logging.getLogger("luigi-interface").isEnabledFor(logging.INFO):
            print(result.summary_text.strip(), file=sys.stderr)  # Luigi logged it otherwise
        if scheduler_host is not None:
            break
        if result.status not in (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY):
            return False
        # Hours invalidated while it ran: e.g. a day's silver moved a transaction's row out of
        # a day already built (its first copy was loaded later), whose gold hour lost its
        # marker. Build them again, as the next run would.
        left = graph.complete_hours(hours) | _waiting(hours)
        hours = [hour for hour in hours if hour not in left]
        if not hours:
            return True
        logger.warning(
            "%d hour(s) were invalidated while the backfill ran (round %d): building them again",
            len(hours),
            attempt,
        )
        run_token = uuid.uuid4().hex[:12]
    else:
        return False
    # Through a central scheduler Luigi's status says what this worker did: days another
    # worker built are "not run", days it is still building pass as success. The backfill
    # succeeded if every hour is complete in the warehouse, whoever built it (waiting,
    # bounded, for the days other workers are still building).
    task_ids = [day.task_id for day in days]
    waiting = _waiting(hours)  # skipped, and said by the caller
    expected = [hour for hour in hours if hour not in waiting]
    return shared_hours_complete(expected, task_ids, scheduler_host, scheduler_port)


def _waiting(hours: Sequence[datetime]) -> set[datetime]:
    """The hours of ``hours`` the source does not cover yet (none when it cannot be listed:
    the failed tasks say why)."""
    try:
        return set(waiting_hours(catalog.sync(reuse_within=5.0), hours))
    except SourceFormatError:
        return set()


def run_backfill(
    start: datetime,
    stop: datetime,
    *,
    workers: int = 1,
    scheduler_host: str | None = None,
    scheduler_port: int | None = None,
    log_level: str = "WARNING",
    full_refresh: bool = False,
) -> bool:
    """Run every task needed for gold of the hours in ``[start, stop)``; True if all succeeded.

    Unlike Luigi's range tools there is no look-back window: the whole range is scheduled.
    ``full_refresh`` first removes the range's markers (see :mod:`.invalidate`); the rows stay
    until the rebuild replaces them.
    Raises :class:`EmptyRangeError` for a range without a whole hour.
    """
    hours = hours_between(start, stop)
    if not hours:
        raise EmptyRangeError(f"empty range: --start {start:%Y-%m-%dT%H} --stop {stop:%Y-%m-%dT%H}")
    token = ""
    if full_refresh:
        # Markers only: the rows stay until each rebuild's transaction replaces them.
        invalidate_range(hours[0], hours[-1] + ONE_HOUR)
        token = uuid.uuid4().hex[:12]
    ok = build_hours(
        hours,
        workers=workers,
        scheduler_host=scheduler_host,
        scheduler_port=scheduler_port,
        log_level=log_level,
        run_token=token,
    )
    if full_refresh and not ok:
        done = graph.complete_hours(hours)
        print(
            f"full refresh: {len(done)} of {len(hours)} hour(s) rebuilt; the others keep their "
            "previous rows (status shows them missing until a run rebuilds them)",
            file=sys.stderr,
        )
    try:
        found = catalog.sync()
    except SourceFormatError:  # the source went away: the failed tasks said so already
        return False
    waiting = waiting_hours(found, hours)
    if waiting:
        print(waiting_note(found, waiting, len(hours)), file=sys.stderr)
    if ok:
        _report_drift(found, hours[0], hours[-1] + ONE_HOUR)
    return ok


def waiting_hours(found: catalog.Catalog, hours: Sequence[datetime]) -> list[datetime]:
    """The hours the source does not cover yet (some sheet's watermark is short of them)."""
    lateness = config.allowed_lateness()
    layouts = graph.current().source_layouts()
    return [
        hour
        for hour in hours
        if not all(
            found.covers(layout, Interval(hour, hour + ONE_HOUR), lateness) for layout in layouts
        )
    ]


def waiting_note(found: catalog.Catalog, waiting: Sequence[datetime], total: int) -> str:
    """One line: how many hours of a backfill wait for the export, and why."""
    layouts = graph.current().source_layouts()
    why = "; ".join(f"{sheet.name}: {found.watermark(sheet).describe()}" for sheet in layouts)
    return (
        f"waiting for the export: {len(waiting)} of {total} hour(s) not loaded, "
        f"{waiting[0]:%Y-%m-%dT%H} .. {waiting[-1]:%Y-%m-%dT%H} ({why}); "
        "a later run loads them once the exports cover them"
    )


def _report_drift(found: catalog.Catalog, start: datetime, stop: datetime) -> None:
    """Say so when intervals of the range were loaded from rows the source no longer has (an
    export was added, corrected or removed while the range was loading): ``reconcile``
    brings them up to date."""
    drifted = count_drifted(found, start, stop)
    if drifted:
        print(
            f"note: {drifted} interval(s) of [{start:%Y-%m-%dT%H}, {stop:%Y-%m-%dT%H}) were "
            "loaded from exports that have changed since (the source changed while the range "
            f"was loading): `playstudio-luigi reconcile --start {start:%Y-%m-%dT%H} "
            f"--stop {stop:%Y-%m-%dT%H}` loads what changed.",
            file=sys.stderr,
        )


def source_bounds(found: catalog.Catalog) -> tuple[datetime, datetime] | None:
    """The first hour and the stop hour of the event times the source holds, or None."""
    found_range = found.event_bounds()
    if found_range is None:
        return None
    first, last = found_range
    return floor_hour(first), floor_hour(last) + ONE_HOUR


def run_demo(*, workers: int = 1, log_level: str = "WARNING") -> tuple[bool, datetime, datetime]:
    """Backfill every hour of the bundled sample; ``(succeeded, first hour, stop hour)``."""
    sample = str(BUNDLED_SAMPLE)
    os.environ[config.SOURCE_ENV] = sample
    bounds = source_bounds(catalog.sync())  # indexes (parses) it once for the backfill below
    assert bounds is not None, "the bundled sample holds rows"
    start, stop = bounds
    print(f"source: bundled sample {sample}", file=sys.stderr)
    print(f"hours: {start:%Y-%m-%dT%H} .. {stop:%Y-%m-%dT%H} (exclusive)", file=sys.stderr)
    return run_backfill(start, stop, workers=workers, log_level=log_level), start, stop
