"""Where PGDATA lives (in ``home``, or under ``SYSTEM_ROOT`` as root) and creating the cluster."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

from playstudio_luigi.db.embedded.commands import RunAs, run_command
from playstudio_luigi.db.embedded.constants import INITDB_TIMEOUT, SUPERUSER, SYSTEM_ROOT
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.processes import kill_orphans
from playstudio_luigi.db.embedded.runtime import make_dir, traversable_by


def home_hash(home: Path) -> str:
    """A short, stable name for ``home`` (its system data directory, its socket directory)."""
    return hashlib.sha256(str(home).encode()).hexdigest()[:16]


def system_data_dir(home: Path) -> Path:
    return SYSTEM_ROOT / "data" / home_hash(home) / "pgdata"


def locate_data_dir(home: Path, run_as: RunAs | None) -> Path:
    """The real PGDATA. Stable once created: an existing cluster is never relocated."""
    local = home / "pgdata"
    if os.geteuid() != 0:
        return local
    system = system_data_dir(home)
    if system.exists():
        return system
    if local.exists():
        return local
    # The home itself is made passable (0711) for the server user when PGDATA goes in it.
    return local if traversable_by(home.parent, run_as) else system


def initdb(
    home: Path, data_dir: Path, bin_dir: Path, run_as: RunAs | None, superuser_password: str
) -> None:
    """Create the cluster unless it exists, password authentication only. initdb runs in a
    scratch dir renamed at the end, so an interrupted initdb never leaves a half-made PGDATA
    behind."""
    if (data_dir / "PG_VERSION").is_file():
        return
    # A server whose PGDATA was deleted under it keeps running; it must not share our
    # socket or keep writing. Its processes still report the old path as their cwd.
    kill_orphans(data_dir)

    parent = data_dir.parent
    if parent != home:
        # Explicit modes: the server user must traverse these whatever root's umask.
        make_dir(parent.parent, 0o755)
        make_dir(parent, 0o755)
        with contextlib.suppress(OSError):
            (parent / "HOME").write_text(f"{home}\n")
    for leftover in parent.glob(f"{data_dir.name}.initdb-*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    if data_dir.exists():
        if not data_dir.is_dir() or any(data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{data_dir} exists but is not a PostgreSQL data directory "
                "(no PG_VERSION); move it away and retry"
            )
        data_dir.rmdir()

    scratch = parent / f"{data_dir.name}.initdb-{os.getpid()}"
    # The password goes to initdb in a file only the server user can read, never in argv.
    pwfile = parent / f"{data_dir.name}.initdb-{os.getpid()}.pw"
    scratch.mkdir(mode=0o700)
    try:
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            if run_as is not None:
                os.fchown(fd, run_as.uid, run_as.gid)
            os.write(fd, f"{superuser_password}\n".encode())
        finally:
            os.close(fd)
        if run_as is not None:
            os.chown(scratch, run_as.uid, run_as.gid)
        rc, output = run_command(
            [
                bin_dir / "initdb",
                "-D",
                scratch,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
            run_as,
            INITDB_TIMEOUT,
        )
        if rc != 0:
            raise EmbeddedPostgresError(f"initdb failed (exit {rc}):\n{output}")
        os.rename(scratch, data_dir)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            pwfile.unlink()


def replace_server_file(path: Path, text: str, run_as: RunAs | None) -> None:
    """Replace a configuration file of the data directory atomically, owner-only and owned by
    the server's user; never through a symlink planted at the scratch name."""
    scratch = path.with_name(f"{path.name}.playstudio-tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        if run_as is not None:
            os.fchown(fd, run_as.uid, run_as.gid)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(scratch, path)
