"""Where the server's unix socket lives: PGDATA, or a short private directory in ``/tmp``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from playstudio_luigi.db.embedded.commands import RunAs
from playstudio_luigi.db.embedded.constants import PORT, SHORT_SOCKET_PARENT, SOCKET_PATH_MAX
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError


def socket_dir_for(data_dir: Path) -> Path:
    """PGDATA itself, unless its socket path would be too long for the kernel, or PGDATA's
    path has a comma (libpq reads a comma in ``host`` as a list of hosts)."""
    socket_path = data_dir / f".s.PGSQL.{PORT}"
    if len(os.fsencode(str(socket_path))) <= SOCKET_PATH_MAX and "," not in str(data_dir):
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return SHORT_SOCKET_PARENT / f"playstudio-pg-{digest}"


@contextlib.contextmanager
def private_socket_dir(socket_dir: Path, run_as: RunAs | None) -> Iterator[int]:
    """A descriptor of the short socket dir, created private to the server user (0700).

    It sits in world-writable /tmp, where anyone may have put a symlink or a directory of
    their own under its name: it is opened without following symlinks and refused unless
    we (or the server user) own it, before anything in it is touched, and only through
    the descriptor afterwards.
    """
    owner_uid = run_as.uid if run_as is not None else os.geteuid()
    with contextlib.suppress(FileExistsError):
        os.mkdir(socket_dir, 0o700)
    try:
        fd = os.open(socket_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise EmbeddedPostgresError(
            f"socket directory {socket_dir} is not a usable directory ({exc}); remove it"
        ) from exc
    try:
        st = os.fstat(fd)
        if st.st_uid not in (owner_uid, os.geteuid()):
            raise EmbeddedPostgresError(
                f"socket directory {socket_dir} is owned by uid {st.st_uid}, "
                f"expected {owner_uid}; remove it"
            )
        if run_as is not None and st.st_uid != run_as.uid:
            os.fchown(fd, run_as.uid, run_as.gid)
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(fd, 0o700)
        yield fd
    finally:
        os.close(fd)


def prepare_socket_dir(socket_dir: Path, data_dir: Path, run_as: RunAs | None) -> None:
    """Create the short socket dir private to the server user (see ``private_socket_dir``)."""
    if socket_dir == data_dir:
        return
    with private_socket_dir(socket_dir, run_as):
        pass


def remove_socket_files(socket_dir: Path, data_dir: Path, run_as: RunAs | None) -> None:
    """Unlink a dead server's socket and socket lock: by name relative to the checked
    directory, never through a path someone else could redirect."""
    names = (f".s.PGSQL.{PORT}", f".s.PGSQL.{PORT}.lock")
    if socket_dir == data_dir:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                (data_dir / name).unlink()
        return
    with private_socket_dir(socket_dir, run_as) as fd:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=fd)
