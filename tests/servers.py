"""Removing an embedded server a test started, with everything it left outside its home."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import psutil

from playstudio_luigi.db.embedded import SYSTEM_ROOT, EmbeddedPostgres
from playstudio_luigi.db.embedded.processes import belongs_to
from playstudio_luigi.db.embedded.sockets import socket_dir_for


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Live postgres processes working on ``data_dir`` (postmaster and children)."""
    return [p for p in psutil.process_iter() if p.pid != os.getpid() and belongs_to(p, data_dir)]


def remove_server(server: EmbeddedPostgres) -> None:
    """Stop ``server`` and remove its state outside its home: its short socket directory and,
    as root, its data directory under ``SYSTEM_ROOT`` (a home under pytest's 0700 temporary
    root puts PGDATA there)."""
    data_dir = server.status().data_dir
    try:
        server.stop()
    finally:
        # Belt and braces: nothing started by a (possibly failed) test may outlive it.
        for process in postgres_processes(data_dir):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        socket_dir = socket_dir_for(data_dir)
        if socket_dir != data_dir:
            shutil.rmtree(socket_dir, ignore_errors=True)
        if SYSTEM_ROOT in data_dir.parents:
            shutil.rmtree(data_dir.parent, ignore_errors=True)
