"""Run history: one row in ``ops.task_runs`` per task run, done, failed or skipped."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg2.extensions

from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.redaction import redact

logger = logging.getLogger("playstudio_luigi.tasks.runs")


@dataclass
class TaskRun:
    """One run of one task, from its start to its outcome.

    A bulk run covers many intervals (``interval_starts``): it is one ``done`` row (at the
    first interval, with totals), but a failure is recorded for every interval it covered, so
    that coverage reports each of them as failed.
    """

    task_id: str
    task_family: str
    interval_start: datetime
    started_at: float = field(default_factory=time.time)
    interval_starts: tuple[datetime, ...] = ()

    def record(
        self,
        cursor: psycopg2.extensions.cursor,
        status: str,
        details: dict[str, Any] | None = None,
        source_sha256: str | None = None,
        error: str | None = None,
    ) -> None:
        details = details or {}
        starts = self.interval_starts if status == "failed" else ()
        for interval_start in starts or (self.interval_start,):
            self._insert(cursor, interval_start, status, details, source_sha256, error)

    def _insert(
        self,
        cursor: psycopg2.extensions.cursor,
        interval_start: datetime,
        status: str,
        details: dict[str, Any],
        source_sha256: str | None,
        error: str | None,
    ) -> None:
        cursor.execute(
            render("ops/record_run.sql"),
            {
                "task_id": self.task_id,
                "task_family": self.task_family,
                "interval_start": interval_start,
                "status": status,
                "started_at": self.started_at,
                "duration_seconds": round(time.time() - self.started_at, 3),
                "rows_in": details.get("source_rows"),
                "rows_loaded": details.get(
                    "bronze_rows", details.get("accepted_rows", details.get("silver_rows"))
                ),
                "rows_quarantined": details.get("quarantined_rows"),
                "source_sha256": source_sha256,
                "worker_host": socket.gethostname(),
                "worker_pid": os.getpid(),
                "error": redact(error)[:4000] if error else None,
            },
        )


def record_failure(run: TaskRun, error: BaseException) -> None:
    """Best effort: the database may be what failed."""
    try:
        with transaction() as connection, connection.cursor() as cursor:
            run.record(cursor, "failed", error=f"{type(error).__name__}: {error}")
    except Exception as exc:
        logger.warning("could not record a failed run: %s", redact(str(exc)))
