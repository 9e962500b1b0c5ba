"""Backfills sharing a central scheduler: success is every hour complete, whoever built it.

With one luigid and several machines running the same backfill, luigid hands each day to one
worker. A machine that finishes its days first would leave while another still builds the rest,
and Luigi reports those days as "being run by another worker ... not granted run permission".
:func:`wait_for_hours` waits instead, bounded by ``[shared_backfill] wait_seconds``, while luigid
still has one of the backfill's tasks running or pending, and answers whether every hour is
complete in the warehouse (:func:`playstudio_luigi.tasks.graph.complete_hours`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

import luigi
from luigi.rpc import RemoteScheduler
from luigi.task_register import Register, TaskClassNotFoundException

from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import IntervalTask
from playstudio_luigi.tasks.batch import DayPipeline

logger = logging.getLogger("playstudio_luigi")

#: luigid's states of a task that someone will still build.
ACTIVE = ("RUNNING", "PENDING")


class shared_backfill(luigi.Config):
    wait_seconds = luigi.FloatParameter(
        default=3600.0,
        description="How long a backfill through a central scheduler waits, once its own tasks "
        "are done, for the hours another worker is still building.",
    )
    poll_seconds = luigi.FloatParameter(
        default=5.0, description="How often it looks again while it waits."
    )


def scheduler_url(scheduler_host: str, scheduler_port: int | None) -> str:
    return f"http://{scheduler_host}:{scheduler_port or 8082}"


def scheduler_tasks_active(
    scheduler_host: str, scheduler_port: int | None, task_ids: Collection[str]
) -> Callable[[], bool]:
    """A question for luigid: is any of ``task_ids`` running or pending there?"""
    scheduler = RemoteScheduler(scheduler_url(scheduler_host, scheduler_port))
    wanted = set(task_ids)

    def active() -> bool:
        return any(
            wanted.intersection(scheduler.task_list(status, "", limit=False)) for status in ACTIVE
        )

    return active


def others_building(url: str) -> Callable[[], bool]:
    """A question for luigid at ``url``: is a task that writes the warehouse (an interval's or
    a day's) running there? Asked once this worker runs nothing, so: another worker's."""
    scheduler = RemoteScheduler(url)

    def building() -> bool:
        for info in scheduler.task_list("RUNNING", "", limit=False).values():
            try:
                family = Register.get_task_cls(info["name"])
            except TaskClassNotFoundException:
                continue
            if issubclass(family, (IntervalTask, DayPipeline)):
                return True
        return False

    return building


def wait_for_hours(
    hours: Sequence[datetime],
    others_active: Callable[[], bool],
    *,
    wait_seconds: float,
    poll_seconds: float,
    complete: Callable[[Sequence[datetime]], set[datetime]] = graph.complete_hours,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    what: str = "backfill",
    unit: str = "hour",
) -> bool:
    """True once every hour (or interval: ``unit``) is complete; False when nobody builds the
    rest any more or ``wait_seconds`` have passed. ``what`` names the waiter in its lines."""
    wanted, deadline, announced = set(hours), clock() + wait_seconds, False
    while True:
        active = others_active()  # asked first: a task finishing meanwhile is seen complete
        left = len(wanted - complete(hours))
        if not left:
            return True
        if not active:
            return False
        if clock() >= deadline:
            logger.warning(
                "%s: %d %s(s) still not complete after waiting %.0f s",
                what,
                left,
                unit,
                wait_seconds,
            )
            return False
        if not announced:
            logger.warning(
                "%s: waiting (up to %.0f s) for %d %s(s) another worker is building",
                what,
                wait_seconds,
                left,
                unit,
            )
            announced = True
        sleep(poll_seconds)


def shared_hours_complete(
    hours: Sequence[datetime],
    task_ids: Collection[str],
    scheduler_host: str,
    scheduler_port: int | None,
) -> bool:
    """After a backfill's own tasks through luigid: wait (see :func:`wait_for_hours`) for the
    backfill's tasks other workers hold; True when every hour is complete."""
    settings = shared_backfill()
    return wait_for_hours(
        hours,
        scheduler_tasks_active(scheduler_host, scheduler_port, task_ids),
        wait_seconds=settings.wait_seconds,
        poll_seconds=settings.poll_seconds,
    )
