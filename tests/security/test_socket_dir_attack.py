"""The short socket directory in /tmp: a local user's symlink (or directory) under its name
must not make the embedded server's start-up delete, chmod or chown anything elsewhere."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from os_users import other_user
from servers import remove_server

from playstudio_luigi.db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from playstudio_luigi.db.embedded.datadir import locate_data_dir
from playstudio_luigi.db.embedded.runtime import existing_server_user
from playstudio_luigi.db.embedded.sockets import socket_dir_for

pytestmark = pytest.mark.integration

SOCKET_FILES = (".s.PGSQL.5432", ".s.PGSQL.5432.lock")


@pytest.fixture
def long_home() -> Iterator[Path]:
    """A home whose socket path is too long, in a directory every user can traverse."""
    base = Path(tempfile.mkdtemp(prefix="playstudio-sock-attack-"))
    base.chmod(0o755)
    home = base / ("long-" * 16) / ".playstudio"
    home.parent.mkdir(mode=0o755)
    try:
        yield home
    finally:
        remove_server(EmbeddedPostgres(home))
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """Files someone else cares about, named as a server's socket files."""
    where = tmp_path / "victim"
    where.mkdir()
    for name in SOCKET_FILES:
        (where / name).write_text("precious\n")
    return where


def planted_socket_dir(home: Path) -> Path:
    socket_dir = socket_dir_for(locate_data_dir(home.resolve(), existing_server_user()))
    assert socket_dir.parent == Path("/tmp"), "the home must need the short socket dir"
    shutil.rmtree(socket_dir, ignore_errors=True)
    if socket_dir.is_symlink():
        socket_dir.unlink()
    return socket_dir


def test_a_symlink_planted_by_another_user_deletes_nothing(long_home: Path, victim: Path) -> None:
    socket_dir = planted_socket_dir(long_home)
    attacker = other_user()
    victim.parent.chmod(0o755)
    planted = attacker.run(["ln", "-s", str(victim), str(socket_dir)])
    assert planted.returncode == 0, planted.stderr
    try:
        with pytest.raises(EmbeddedPostgresError, match="socket directory"):
            EmbeddedPostgres(long_home).start()
        assert sorted(p.name for p in victim.iterdir()) == sorted(SOCKET_FILES)
        assert all((victim / n).read_text() == "precious\n" for n in SOCKET_FILES)
        assert os.stat(victim).st_mode & 0o777 == 0o755  # not chmod-ed through the link
    finally:
        socket_dir.unlink()


def test_our_own_symlink_is_not_followed_either(long_home: Path, victim: Path) -> None:
    """The same mechanics without a second user: O_NOFOLLOW, not only the owner check."""
    socket_dir = planted_socket_dir(long_home)
    socket_dir.symlink_to(victim)
    try:
        with pytest.raises(EmbeddedPostgresError, match="socket directory"):
            EmbeddedPostgres(long_home).start()
        assert sorted(p.name for p in victim.iterdir()) == sorted(SOCKET_FILES)
    finally:
        socket_dir.unlink()


def test_a_directory_of_another_user_is_refused(long_home: Path) -> None:
    socket_dir = planted_socket_dir(long_home)
    attacker = other_user()
    made = attacker.run(["mkdir", "-m", "0777", str(socket_dir)])
    assert made.returncode == 0, made.stderr
    try:
        with pytest.raises(EmbeddedPostgresError, match="owned by uid"):
            EmbeddedPostgres(long_home).start()
        assert os.stat(socket_dir).st_uid == attacker.uid  # not taken over either
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_the_legitimate_short_socket_dir_still_works(long_home: Path) -> None:
    planted_socket_dir(long_home)
    server = EmbeddedPostgres(long_home)
    server.start()
    server.stop()
    server.start()  # stale-state clean-up through the checked directory
    status = server.status()
    assert status.running and status.socket_dir is not None
    assert status.socket_dir.stat().st_mode & 0o777 == 0o700
