"""Integration tests of the embedded PostgreSQL wrapper against real server processes.

Every test starts real servers: a server that cannot start makes the test fail, never skip.
Each test gets fresh homes and stops (and removes) what it started in teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest
from servers import postgres_processes, remove_server

from playstudio_luigi.db import embedded
from playstudio_luigi.db.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    EmbeddedStatus,
    processes,
    runtime,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0
NOBODY = 65534

MakeHome = Callable[..., Path]


# ---------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_dead(pid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.05)


def _postmasters(data_dir: Path) -> list[int]:
    """PIDs of live postmasters of ``data_dir``."""
    return [
        p.pid
        for p in psutil.process_iter()
        if p.pid != os.getpid() and processes.belongs_to(p, data_dir, postmaster=True)
    ]


def _query(dsn: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _run_python(code: str, *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def make_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeHome]:
    """Factory of fresh home directories; after the test, each home's server is stopped and
    its state removed before any directory it lives in.

    ``shared=True`` puts the home in a fresh directory every user can traverse (pytest's own
    temporary root is 0700), owned by ``owner`` when given.
    """
    homes: list[Path] = []
    bases: list[Path] = []

    def make(name: str = "home", *, shared: bool = False, owner: int | None = None) -> Path:
        if shared:
            base = Path(tempfile.mkdtemp(prefix="playstudio-embedded-test-"))
            bases.append(base)
            base.chmod(0o755)
            if owner is not None:
                os.chown(base, owner, owner)
        else:
            base = tmp_path_factory.mktemp("embedded")
        home = base / name
        homes.append(home)
        return home

    yield make
    with contextlib.ExitStack() as cleanup:
        # Callbacks run last-in first-out: every server is removed before any base.
        for base in bases:
            cleanup.callback(shutil.rmtree, base, ignore_errors=True)
        for home in homes:
            cleanup.callback(remove_server, EmbeddedPostgres(home))


def _assert_running(status: EmbeddedStatus, dsn: str) -> None:
    assert status.running
    assert status.pid is not None and _alive(status.pid)
    assert status.dsn == dsn
    assert status.socket_dir is not None
    assert dsn.startswith(
        f"postgresql://playstudio_pipeline@/playstudio?host={status.socket_dir}&port=5432&passfile="
    )
    assert _query(dsn, "select 1") == [(1,)]


# ---------------------------------------------------------------------- tests


def test_start_is_idempotent_and_reuses_the_server(make_home: MakeHome) -> None:
    home = make_home()
    pg = EmbeddedPostgres(home)
    before = pg.status()
    assert not before.running and before.pid is None and before.dsn is None
    with pytest.raises(EmbeddedPostgresError, match="db start"):
        pg.url()

    dsn = pg.start()
    first = pg.status()
    _assert_running(first, dsn)
    assert pg.url() == dsn
    assert _query(dsn, "select current_database(), current_user") == [
        ("playstudio", "playstudio_pipeline")
    ]
    settings = dict(
        _query(
            dsn,
            "select name, setting from pg_settings where name in "
            "('listen_addresses', 'fsync', 'max_connections', 'port')",
        )
    )
    assert settings == {
        "listen_addresses": "",
        "fsync": "on",
        "max_connections": "100",
        "port": "5432",
    }
    assert (first.data_dir / "server.log").is_file()

    assert pg.start() == dsn
    assert EmbeddedPostgres(home).start() == dsn
    assert pg.status().pid == first.pid
    assert _postmasters(first.data_dir) == [first.pid]


def test_stop_then_start_keeps_data(make_home: MakeHome) -> None:
    pg = EmbeddedPostgres(make_home())
    dsn = pg.start()
    _query(dsn, "create table kept (x int); insert into kept values (42)")
    pid = pg.status().pid
    assert pid is not None

    pg.stop()
    status = pg.status()
    assert not status.running and status.pid is None and status.socket_dir is None
    assert not _alive(pid)
    assert postgres_processes(status.data_dir) == []
    pg.stop()  # idempotent: no error when not running

    assert pg.start() == dsn
    assert _query(dsn, "select x from kept") == [(42,)]


def test_server_outlives_a_killed_python_process(make_home: MakeHome) -> None:
    home = make_home()
    result = _run_python(
        f"""
        import json, os
        from pathlib import Path
        from playstudio_luigi.db.embedded import EmbeddedPostgres
        pg = EmbeddedPostgres(Path({str(home)!r}))
        dsn = pg.start()
        print(json.dumps({{"dsn": dsn, "pid": pg.status().pid}}), flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    child = json.loads(result.stdout)

    pg = EmbeddedPostgres(home)
    status = pg.status()
    _assert_running(status, child["dsn"])
    assert status.pid == child["pid"]
    assert pg.start() == child["dsn"]
    assert pg.status().pid == child["pid"]


def test_start_recovers_after_postmaster_sigkill_and_kills_orphans(make_home: MakeHome) -> None:
    pg = EmbeddedPostgres(make_home())
    dsn = pg.start()
    _query(dsn, "create table survivor (x int); insert into survivor values (7)")
    old_pid = pg.status().pid
    assert old_pid is not None

    # A frozen backend cannot notice the postmaster's death: it stays behind as an orphan
    # holding the old shared memory, which would make a new postmaster refuse to start.
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_backend_pid()")
            (backend_pid,) = cur.fetchone()
        os.kill(backend_pid, signal.SIGSTOP)
        os.kill(old_pid, signal.SIGKILL)
        _wait_dead(old_pid)
        assert (pg.status().data_dir / "postmaster.pid").exists()
        assert not pg.status().running
        assert _alive(backend_pid)

        new_dsn = pg.start()
    finally:
        conn.close()

    assert new_dsn == dsn
    new_pid = pg.status().pid
    assert new_pid is not None and new_pid != old_pid
    assert not _alive(backend_pid)
    assert _query(dsn, "select x from survivor") == [(7,)]
    assert _postmasters(pg.status().data_dir) == [new_pid]


def test_stale_pid_file_naming_a_live_unrelated_process(make_home: MakeHome) -> None:
    pg = EmbeddedPostgres(make_home())
    dsn = pg.start()
    _query(dsn, "create table kept (x int); insert into kept values (1)")
    status = pg.status()
    pid_file = status.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    owner = pid_file.stat()
    pg.stop()
    assert not pid_file.exists()

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        # As if the server had crashed and its PID had been reused by `sleep`.
        lines[0] = str(sleeper.pid)
        for path in (pid_file, status.data_dir / ".s.PGSQL.5432.lock"):
            path.write_text("\n".join(lines) + "\n")
            if IS_ROOT:
                os.chown(path, owner.st_uid, owner.st_gid)
        assert not pg.status().running

        assert pg.start() == dsn
        assert sleeper.poll() is None, "the unrelated process must not be killed"
        new_pid = pg.status().pid
        assert new_pid is not None and new_pid != sleeper.pid
        assert _query(dsn, "select x from kept") == [(1,)]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_concurrent_starts_on_a_fresh_home_make_one_server(make_home: MakeHome) -> None:
    home = make_home()
    go_at = time.time() + 3  # imports finish at different times: start together
    code = f"""
        import json, time
        from pathlib import Path
        from playstudio_luigi.db.embedded import EmbeddedPostgres
        time.sleep(max(0.0, {go_at} - time.time()))
        pg = EmbeddedPostgres(Path({str(home)!r}))
        dsn = pg.start()
        print(json.dumps({{"dsn": dsn, "pid": pg.status().pid}}), flush=True)
        """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    assert len({r["dsn"] for r in results}) == 1
    assert len({r["pid"] for r in results}) == 1
    status = EmbeddedPostgres(home).status()
    _assert_running(status, results[0]["dsn"])
    assert _postmasters(status.data_dir) == [results[0]["pid"]]
    log = (status.data_dir / "server.log").read_text()
    assert log.count("database system is ready to accept connections") == 1


def test_long_data_dir_uses_a_short_private_socket_dir(make_home: MakeHome) -> None:
    home = make_home(f"{'deep-' * 16}/.playstudio", shared=True)
    pg = EmbeddedPostgres(home)
    dsn = pg.start()
    status = pg.status()
    _assert_running(status, dsn)
    assert status.data_dir == home.resolve() / "pgdata"
    assert len(str(status.data_dir / ".s.PGSQL.5432")) > embedded.SOCKET_PATH_MAX
    assert status.socket_dir is not None
    assert status.socket_dir.parent == Path("/tmp")
    assert status.socket_dir.name.startswith("playstudio-pg-")
    socket_stat = status.socket_dir.stat()
    assert socket_stat.st_mode & 0o777 == 0o700
    assert socket_stat.st_uid == status.data_dir.stat().st_uid


@pytest.mark.skipif(not IS_ROOT, reason="root-only behaviour")
def test_root_runs_server_as_system_user_from_copied_binaries(make_home: MakeHome) -> None:
    home = make_home()
    home.parent.chmod(0o700)  # like /root: the server user cannot traverse it
    pg = EmbeddedPostgres(home)
    dsn = pg.start()
    status = pg.status()
    _assert_running(status, dsn)

    expected = embedded.SYSTEM_ROOT / "data" / pg._home_hash
    assert status.data_dir == expected / "pgdata"
    assert (expected / "HOME").read_text().strip() == str(home.resolve())
    data_stat = status.data_dir.stat()
    assert data_stat.st_mode & 0o777 == 0o700
    server_uid = psutil.Process(status.pid).uids().real
    assert data_stat.st_uid == server_uid
    assert psutil.Process(status.pid).username() == embedded.SERVER_USER
    exe = Path(psutil.Process(status.pid).exe())
    assert embedded.SYSTEM_ROOT in exe.parents
    assert not (home / "pgdata").exists()


def _interpreter_for_nobody() -> str | None:
    """A system Python of our version that `nobody` can run (the venv's lives under /root)."""
    candidate = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return candidate if os.access(candidate, os.X_OK) else None


@pytest.mark.skipif(not IS_ROOT, reason="as non-root every other test covers this path")
def test_non_root_caller_runs_everything_as_itself(make_home: MakeHome) -> None:
    python = _interpreter_for_nobody()
    runuser = shutil.which("runuser")
    if python is None or runuser is None:
        pytest.skip("needs runuser and a system python of the same version")
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    home = make_home(".playstudio", shared=True, owner=NOBODY)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{site_packages}"}
    preflight = subprocess.run(
        [runuser, "-u", "nobody", "--", python, "-c", "import psutil, psycopg2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if preflight.returncode != 0:
        pytest.skip(f"the venv's packages do not import under {python}: {preflight.stderr}")
    code = f"""
        import json, psycopg2
        from pathlib import Path
        from playstudio_luigi.db.embedded import EmbeddedPostgres
        pg = EmbeddedPostgres(Path({str(home)!r}))
        dsn = pg.start()
        assert pg.start() == dsn
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
        conn.close()
        status = pg.status()
        print(json.dumps({{"dsn": dsn, "pid": status.pid, "data_dir": str(status.data_dir)}}))
        """
    result = subprocess.run(
        [runuser, "-u", "nobody", "--", python, "-c", textwrap.dedent(code)],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["data_dir"] == str(home / "pgdata")
    assert psutil.Process(info["pid"]).username() == "nobody"
    assert runtime.package_bin_dir() in Path(psutil.Process(info["pid"]).exe()).parents

    stop = subprocess.run(
        [
            runuser,
            "-u",
            "nobody",
            "--",
            python,
            "-c",
            "from pathlib import Path; from playstudio_luigi.db.embedded import "
            f"EmbeddedPostgres; EmbeddedPostgres(Path({str(home)!r})).stop()",
        ],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert stop.returncode == 0, stop.stderr
    _wait_dead(info["pid"])
