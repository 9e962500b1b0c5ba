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
from datetime import datetime

import luigi
from luigi.execution_summary import LuigiStatusCode

from playstudio_luigi import config
from playstudio_luigi.db import markers
from playstudio_luigi.intervals import ONE_HOUR, floor_hour, hours_between
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.operations.progress import progress_line
from playstudio_luigi.operations.shared_runs import shared_hours_complete
from playstudio_luigi.source.schema import LAYOUTS
from playstudio_luigi.source.versions import configured_version
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
        done = graph.complete_hours(hours)
        hours = [hour for hour in hours if hour not in done]
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
    return shared_hours_complete(hours, task_ids, scheduler_host, scheduler_port)


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
    if ok:
        _report_versions(hours[0], hours[-1] + ONE_HOUR)
    return ok


def _report_versions(start: datetime, stop: datetime) -> None:
    """Say so when the range was built from more than one version of the source (it was
    re-exported during the run): ``reconcile`` brings every interval to the newest."""
    families = [task.marker_family() for task in graph.current().extracts()]
    versions = markers.source_versions(families, start, stop)
    if len(versions) > 1:
        print(
            f"note: [{start:%Y-%m-%dT%H}, {stop:%Y-%m-%dT%H}) was built from {len(versions)} "
            f"versions of the source ({', '.join(v[:12] for v in versions)}): it changed "
            f"while the range was loading. `playstudio-luigi reconcile --start {start:%Y-%m-%dT%H}"
            f" --stop {stop:%Y-%m-%dT%H}` rebuilds what was loaded from an older version.",
            file=sys.stderr,
        )


def run_demo(*, workers: int = 1, log_level: str = "WARNING") -> tuple[bool, datetime, datetime]:
    """Backfill every hour of the bundled sample; ``(succeeded, first hour, stop hour)``."""
    sample = str(BUNDLED_SAMPLE)
    os.environ[config.SOURCE_ENV] = sample
    # Through the parsed-version cache, which the backfill below then reuses: one parse.
    version = configured_version()
    times = [
        t
        for layout in LAYOUTS.values()
        for t in version.sheet(layout.kind)["event_time"].to_pylist()
        if t is not None
    ]
    start, stop = floor_hour(min(times)), floor_hour(max(times)) + ONE_HOUR
    print(f"source: bundled sample {sample}", file=sys.stderr)
    print(f"hours: {start:%Y-%m-%dT%H} .. {stop:%Y-%m-%dT%H} (exclusive)", file=sys.stderr)
    return run_backfill(start, stop, workers=workers, log_level=log_level), start, stop
