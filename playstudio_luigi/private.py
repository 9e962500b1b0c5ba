"""Owner-only local state: the home and everything in it is 0700 (directories) and 0600 (files).

The home holds the parse cache (every row of the workbooks), the alert state and the embedded
server's credentials, so nobody else may list or read it. One exception: when root runs the
embedded server as its own system user from ``<home>/pgdata``, the home is 0711 (others may
pass through it to reach PGDATA, not list it); everything in it is still owner-only.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
TRAVERSABLE_HOME_MODE = 0o711


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700; tighten ``path`` itself if it is ours
    and looser. Returns ``path``."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, DIR_MODE)
        _tighten(directory, DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_home(home: Path, *, server_uid: int | None = None) -> Path:
    """Create or tighten ``home``. ``server_uid``: the other user whose server runs from
    ``home/pgdata`` (found by itself when PGDATA exists). A home made looser by an earlier
    release gets everything in it tightened too, once."""
    home = Path(home)
    home.parent.mkdir(parents=True, exist_ok=True)  # outside the home: the user's business
    with contextlib.suppress(FileExistsError):
        os.mkdir(home, DIR_MODE)
    st = home.stat()
    if server_uid is None:
        with contextlib.suppress(OSError):
            pgdata_uid = (home / "pgdata").stat().st_uid
            if pgdata_uid != st.st_uid:
                server_uid = pgdata_uid
    wanted = TRAVERSABLE_HOME_MODE if server_uid is not None else DIR_MODE
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != wanted:
        if stat.S_IMODE(st.st_mode) & 0o066:
            _tighten_tree(home)
        os.chmod(home, wanted)
    return home


def open_private(path: Path, flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """``os.open`` creating the file 0600 (and tightening an older, looser one)."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_private(path: Path) -> None:
    """0600 on a file we just wrote (before it is renamed into place)."""
    os.chmod(path, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        st = path.stat()
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, mode)


def _tighten_tree(home: Path) -> None:
    """Directories 0700, files 0600 below ``home``; PGDATA is PostgreSQL's (already 0700)."""
    for dirpath, dirnames, filenames in os.walk(home):
        if Path(dirpath) == home and "pgdata" in dirnames:
            dirnames.remove("pgdata")
        for name in dirnames:
            _tighten(Path(dirpath, name), DIR_MODE)
        for name in filenames:
            target = Path(dirpath, name)
            if not target.is_symlink():
                _tighten(target, FILE_MODE)
