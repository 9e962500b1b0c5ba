"""No alert storms: the first failure of a task family goes out at once; the next ones within
``[slack] min_interval_seconds`` are collected and sent as one digest.

State lives in a small JSON file under the local home, locked with ``fcntl``, because failures
are reported from many processes (Luigi runs tasks in child processes, cron starts new runs).
It only throttles messages: losing it costs at most one extra alert, never data.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playstudio_luigi.private import make_private, open_private, private_dir

KEEP_PENDING = 2000  # intervals listed in a digest; more are counted, not listed


@dataclass(frozen=True)
class Decision:
    send_now: bool


class AlertThrottle:
    def __init__(self, state_file: Path, min_interval: float) -> None:
        self.state_file = state_file
        self.min_interval = min_interval

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        private_dir(self.state_file.parent)
        lock_fd = open_private(self.state_file.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT)
        with open(lock_fd, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = json.loads(self.state_file.read_text())
            except (FileNotFoundError, ValueError):
                state = {}
            yield state
            tmp = self.state_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(state))
            make_private(tmp)
            tmp.replace(self.state_file)

    def record(self, family: str, interval: str, error: str, now: float | None = None) -> Decision:
        """Register a failure; say whether to send it now (else it waits for a digest)."""
        now = time.time() if now is None else now
        with self._state() as state:
            entry = state.setdefault(
                family, {"last_sent": None, "last_digest": None, "pending": []}
            )
            entry.setdefault("pending_total", len(entry["pending"]))
            if entry["last_sent"] is None or now - entry["last_sent"] >= self.min_interval:
                entry["last_sent"] = now
                return Decision(send_now=True)
            if len(entry["pending"]) < KEEP_PENDING:
                entry["pending"].append([interval, error])
            entry["pending_total"] += 1
            return Decision(send_now=False)

    def take_digests(
        self, now: float | None = None
    ) -> list[tuple[str, list[tuple[str, str]], int]]:
        """Pending failures whose family may get a digest now (at most one per min interval);
        they are removed from the state."""
        now = time.time() if now is None else now
        due = []
        with self._state() as state:
            for family, entry in state.items():
                last_digest = entry.get("last_digest")
                if entry.get("pending") and (
                    last_digest is None or now - last_digest >= self.min_interval
                ):
                    pending = [(i, e) for i, e in entry["pending"]]
                    due.append((family, pending, entry.get("pending_total", len(pending))))
                    entry.update(pending=[], pending_total=0, last_digest=now, last_sent=now)
        return due
