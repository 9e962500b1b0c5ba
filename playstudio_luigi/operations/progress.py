"""A one-line progress display for long backfills, shown only on a terminal (cron logs stay
quiet). It reads the marker table, so it counts work done by every worker process."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from playstudio_luigi.db.markers import completed_starts
from playstudio_luigi.intervals import five_minute_starts
from playstudio_luigi.tasks.pipelines import FiveMinutePipeline, HourlyPipeline


def progress_text(hours: list[datetime]) -> str:
    """How far the cron entry points' outputs are: hours in gold, 5-minute intervals in
    silver."""
    intervals = [start for hour in hours for start in five_minute_starts(hour)]
    gold = len(completed_starts(HourlyPipeline.marker_family(), hours))
    silver = len(completed_starts(FiveMinutePipeline.marker_family(), intervals))
    return (
        f"backfill: {gold}/{len(hours)} hours in gold, "
        f"{silver}/{len(intervals)} 5-minute intervals in silver"
    )


@contextmanager
def progress_line(
    hours: list[datetime], stream: TextIO = sys.stderr, every: float = 2.0
) -> Iterator[None]:
    if not stream.isatty():
        yield
        return
    stop = threading.Event()

    def show() -> None:
        while not stop.wait(every):
            try:
                stream.write(f"\r{progress_text(hours)}\033[K")
                stream.flush()
            except Exception:  # a progress line must never break the backfill
                return

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every)
        stream.write("\r\033[K")
