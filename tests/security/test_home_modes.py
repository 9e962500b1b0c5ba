"""The home is owner-only: directories 0700, files 0600 (the parse cache holds every row of
the workbooks, the home the server's credentials), checked on a real run's home and by a
real second OS user trying to read it. A home left open by an earlier release is closed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import cli, cli_env
from os_users import other_user
from servers import remove_server

from playstudio_luigi.db.embedded import EmbeddedPostgres
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

ONE_HOUR = ("--start", "2022-04-01T22", "--stop", "2022-04-01T23")


@pytest.fixture
def shared_base() -> Iterator[Path]:
    """Where a home is reachable by everyone but for its own modes (like /srv/playstudio)."""
    base = Path(tempfile.mkdtemp(prefix="playstudio-modes-"))
    base.chmod(0o755)
    yield base
    remove_server(EmbeddedPostgres(base / "home"))
    shutil.rmtree(base, ignore_errors=True)


def private_source(base: Path) -> Path:
    source = base / "export.xlsx"
    shutil.copy(BUNDLED_SAMPLE, source)
    source.chmod(0o600)
    return source


def loose_entries(home: Path) -> list[str]:
    """Everything under ``home`` (PostgreSQL's own PGDATA aside) that others may use."""
    found = []
    for path in [home, *home.rglob("*")]:
        if "pgdata" in path.relative_to(home).parts:
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        allowed = 0o011 if path == home and (home / "pgdata").exists() else 0
        if mode & 0o077 & ~allowed:
            found.append(f"{path} {mode:o}")
    return found


def backfill(base: Path, dsn: str | None) -> Path:
    home = base / "home"
    env = cli_env(dsn=dsn, home=home, source=private_source(base))
    result = subprocess.run(
        cli("backfill", *ONE_HOUR), env=env, cwd=base, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((home / "cache").rglob("*.arrow")), "the run left no parse cache to check"
    return home


def test_a_run_leaves_an_owner_only_home(shared_base: Path, warehouse: str) -> None:
    home = backfill(shared_base, warehouse)
    assert loose_entries(home) == []


def test_the_embedded_servers_home_is_owner_only_too(shared_base: Path) -> None:
    home = backfill(shared_base, None)
    assert (home / "pgpass").is_file()
    assert loose_entries(home) == []


def test_another_user_cannot_read_the_cache(shared_base: Path, warehouse: str) -> None:
    home = backfill(shared_base, warehouse)
    attacker = other_user()
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".arrow" for p in files)
    for path in files:
        attempt = attacker.run(["cat", str(path)])
        assert attempt.returncode != 0, f"{attacker.name} read {path}"
    listing = attacker.run(["ls", str(home)])
    assert listing.returncode != 0, f"{attacker.name} listed the home: {listing.stdout}"


def test_a_home_left_open_by_an_earlier_release_is_closed(
    shared_base: Path, warehouse: str
) -> None:
    home = shared_base / "home"
    old = home / "cache" / "sources" / ("0" * 64)
    old.mkdir(parents=True)
    (old / "Purchases.arrow").write_bytes(b"rows")
    for directory in (home, home / "cache", home / "cache" / "sources", old):
        directory.chmod(0o755)
    (old / "Purchases.arrow").chmod(0o644)
    backfill(shared_base, warehouse)
    assert loose_entries(home) == []
    assert os.stat(home).st_mode & 0o777 == 0o700
