"""Paths PostgreSQL cannot use: refused at once with one clear line, or made to work.

``PLAYSTUDIO_HOME`` with a comma, a quote or spaces works (the socket moves to a short private
directory when libpq would split its path at the comma); one with ``"``, ``\\``, a tab or
``$`` is refused before anything is created. A source path that is not UTF-8 is named in a
clear error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from faults import cli, cli_env
from servers import remove_server

from playstudio_luigi.db.embedded import EmbeddedPostgres, EmbeddedPostgresError

pytestmark = pytest.mark.integration


@pytest.fixture
def shared_base() -> Iterator[Path]:
    """A directory every user can traverse (as root, PGDATA then stays in the home)."""
    base = Path(tempfile.mkdtemp(prefix="playstudio-paths-"))
    base.chmod(0o755)
    servers: list[EmbeddedPostgres] = []
    yield base
    for home in base.iterdir():
        servers.append(EmbeddedPostgres(home))
    for server in servers:
        remove_server(server)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize(
    "char", ['"', "\\", "\t", "$"], ids=["quote", "backslash", "tab", "dollar"]
)
def test_a_home_pg_ctl_cannot_carry_is_refused_at_once(shared_base: Path, char: str) -> None:
    home = shared_base / f"bad{char}home"
    with pytest.raises(EmbeddedPostgresError) as refused:
        EmbeddedPostgres(home).start()
    message = str(refused.value)
    assert "\n" not in message and "PLAYSTUDIO_HOME" in message and repr(char) in message
    assert not (home / "pgdata").exists()  # nothing was tried


def test_the_cli_says_so_in_one_line(shared_base: Path, tmp_path: Path) -> None:
    env = cli_env(dsn=None, home=shared_base / "tab\there", source=tmp_path / "none.xlsx")
    result = subprocess.run(
        cli("db", "start"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "'\\t'" in result.stderr, result.stderr


def test_a_home_with_comma_quote_and_spaces_works(shared_base: Path) -> None:
    server = EmbeddedPostgres(shared_base / "a, b'c d")
    dsn = server.start()
    status = server.status()
    assert status.data_dir.parent == (shared_base / "a, b'c d").resolve()
    assert status.socket_dir is not None and "," not in str(status.socket_dir)
    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1")
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()
    server.stop()
    assert server.start() == dsn  # restarts find their socket again


def test_a_source_path_that_is_not_utf8_is_named(warehouse: str, tmp_path: Path) -> None:
    source = os.fsencode(tmp_path) + b"/export-\xff.xlsx"
    env = cli_env(dsn=warehouse, home=tmp_path / "home", source=tmp_path / "x")
    env_bytes = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    env_bytes[b"PLAYSTUDIO_SOURCE"] = source
    result = subprocess.run(
        cli("backfill", "--start", "2022-04-01T22", "--stop", "2022-04-01T23"),
        env=env_bytes,
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode != 0
    assert "not valid UTF-8" in stderr and "export-\\xff.xlsx" in stderr, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
