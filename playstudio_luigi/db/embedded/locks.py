"""The ``flock`` that serialises start, stop and setup between processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from playstudio_luigi.db.embedded.constants import LOCK_TIMEOUT
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.private import open_private


@contextlib.contextmanager
def flock(path: Path, what: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive ``flock`` on ``path``, released on exit (also if the process dies).

    flock locks belong to the open file, so threads of one process exclude each other too.
    The descriptor is close-on-exec, so the server never inherits the lock.
    """
    try:
        fd = open_private(path)
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot open the {what} lock {path}: {exc}") from exc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise EmbeddedPostgresError(
                        f"timed out after {timeout}s waiting for the {what} lock {path}"
                    ) from exc
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
