"""Finding, waiting for and stopping the postgres processes of one data directory."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from playstudio_luigi.db.embedded.constants import PORT, STOP_TIMEOUT
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.sockets import socket_dir_for


@dataclass(frozen=True)
class Postmaster:
    """A live postmaster of our data directory, as described by its ``postmaster.pid``."""

    pid: int
    socket_dir: Path
    port: int


def _read_pid_file(data_dir: Path) -> list[str] | None:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None


def _cmdline_data_dir(cmdline: Sequence[str] | None) -> str | None:
    """The ``-D`` argument of a postgres command line, as given (only postmasters have one)."""
    if not cmdline:
        return None
    for index, arg in enumerate(cmdline[:-1]):
        if arg == "-D":
            return cmdline[index + 1]
    for arg in cmdline:
        if arg.startswith("-D") and len(arg) > 2:
            return arg[2:]
    return None


def _is_postgres(name: str | None, exe: str | None) -> bool:
    return name == "postgres" or (exe is not None and os.path.basename(exe) == "postgres")


def belongs_to(process: psutil.Process, data_dir: Path, *, postmaster: bool = False) -> bool:
    """Whether ``process`` is a live (non-zombie) postgres process of ``data_dir``; with
    ``postmaster``, only a postmaster (the one process started with ``-D``) qualifies.

    Children rewrite their titles, but every server process runs with PGDATA as its
    working directory (shown with " (deleted)" once PGDATA is removed).
    """
    target = os.path.realpath(data_dir)
    try:
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            name = process.name()
            try:
                exe: str | None = process.exe()
            except (psutil.AccessDenied, OSError):
                exe = None
            if not _is_postgres(name, exe):
                return False
            given = _cmdline_data_dir(process.cmdline())
            if given is None and postmaster:
                return False
            if given is not None and os.path.isabs(given) and os.path.realpath(given) == target:
                return True
            try:
                cwd = process.cwd()
            except (psutil.AccessDenied, OSError):
                return False
            return cwd in (target, f"{target} (deleted)")
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False


def live_postmaster(data_dir: Path) -> Postmaster | None:
    """The postmaster named by ``postmaster.pid`` if that PID is alive and really is a
    postgres process of this data directory (the PID may have been reused)."""
    lines = _read_pid_file(data_dir)
    if not lines:
        return None
    try:
        pid = int(lines[0].strip())
    except ValueError:
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        process = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if not belongs_to(process, data_dir, postmaster=True):
        return None
    port = PORT
    if len(lines) > 3 and lines[3].strip().isdigit():
        port = int(lines[3].strip())
    socket_dir = socket_dir_for(data_dir)
    if len(lines) > 4 and lines[4].strip():
        # PostgreSQL records the first unix_socket_directories entry alone, unquoted: a
        # comma there is part of the path.
        socket_dir = Path(lines[4].strip())
    return Postmaster(pid=pid, socket_dir=socket_dir, port=port)


def is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _wait_gone(processes: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait for processes to exit; return those still alive.

    psutil's own wait would count unreaped zombies (the postmaster is not our child) as alive.
    """
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if is_alive(p)]
    return alive


def _our_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        if process.pid != os.getpid() and belongs_to(process, data_dir):
            found.append(process)
    return found


def kill_orphans(data_dir: Path) -> None:
    """SIGKILL any postgres process still working on ``data_dir``.

    Only called when no healthy postmaster owns it: leftover backends keep the old shared
    memory attached and a new postmaster would refuse to start.
    """
    processes = _our_processes(data_dir)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    survivors = _wait_gone(processes, 10)
    if survivors:
        raise EmbeddedPostgresError(
            f"could not kill old postgres processes of {data_dir}: {[p.pid for p in survivors]}"
        )


def terminate(data_dir: Path, pid: int, *, graceful: bool) -> None:
    """Stop a postmaster: fast shutdown (SIGINT) when graceful, then immediate (SIGQUIT),
    then SIGKILL; finally kill any children left behind."""
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        kill_orphans(data_dir)
        return
    steps = [(signal.SIGINT, STOP_TIMEOUT)] if graceful else []
    steps += [(signal.SIGQUIT, 15), (signal.SIGKILL, 10)]
    for signum, timeout in steps:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)
            process.resume()  # a stopped (SIGSTOP) postmaster would never see the signal
        if not _wait_gone([process], timeout):
            break
    else:
        raise EmbeddedPostgresError(f"postmaster {pid} of {data_dir} does not exit")
    kill_orphans(data_dir)
