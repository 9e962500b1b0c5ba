"""Where the server's unix socket lives: PGDATA, or a short private directory in ``/tmp``."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from playstudio_luigi.db.embedded.commands import RunAs
from playstudio_luigi.db.embedded.constants import PORT, SHORT_SOCKET_PARENT, SOCKET_PATH_MAX
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError


def socket_dir_for(data_dir: Path) -> Path:
    """PGDATA itself, unless its socket path would be too long for the kernel."""
    socket_path = data_dir / f".s.PGSQL.{PORT}"
    if len(os.fsencode(str(socket_path))) <= SOCKET_PATH_MAX:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return SHORT_SOCKET_PARENT / f"playstudio-pg-{digest}"


def prepare_socket_dir(socket_dir: Path, data_dir: Path, run_as: RunAs | None) -> None:
    """Create the short socket dir private to the server user (0700).

    It sits in world-writable /tmp, so it is opened without following symlinks and
    refused if someone else owns it.
    """
    if socket_dir == data_dir:
        return
    owner_uid = run_as.uid if run_as is not None else os.geteuid()
    with contextlib.suppress(FileExistsError):
        os.mkdir(socket_dir, 0o700)
    try:
        fd = os.open(socket_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
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
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
