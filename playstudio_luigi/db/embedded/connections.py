"""Talking to a live postmaster: readiness, the ``playstudio`` database and the DSN."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg2
from psycopg2 import errors as pg_errors

from playstudio_luigi.db.embedded.commands import run_command
from playstudio_luigi.db.embedded.constants import DATABASE, SUPERUSER
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.processes import Postmaster, is_alive
from playstudio_luigi.db.embedded.runtime import package_bin_dir


def superuser_connect(
    postmaster: Postmaster, passfile: Path, dbname: str, timeout: int = 10
) -> psycopg2.extensions.connection:
    """The superuser's connection, its password read by libpq from the home's ``passfile``."""
    return psycopg2.connect(
        dbname=dbname,
        user=SUPERUSER,
        host=str(postmaster.socket_dir),
        port=postmaster.port,
        passfile=str(passfile),
        connect_timeout=timeout,
    )


def accepts_connections(postmaster: Postmaster) -> bool:
    """``pg_isready``: true when the server accepts connections.

    Unlike a test connection, this also counts a server whose connection slots are all in
    use as up (libpq's PQping), so a busy warehouse is never mistaken for a hung one.
    Exit 1 means alive but rejecting (starting, recovering, stopping); 2 means no answer.
    """
    args: list[str | Path] = [package_bin_dir() / "pg_isready", "-q"]
    args += ["-h", postmaster.socket_dir, "-p", str(postmaster.port)]
    args += ["-U", SUPERUSER, "-d", "postgres", "-t", "3"]
    try:
        rc, _ = run_command(args, None, 15)
    except EmbeddedPostgresError:
        return False
    return rc == 0


def wait_until_ready(postmaster: Postmaster, timeout: float) -> bool:
    """Poll until the server accepts connections (e.g. after crash recovery); give up early
    if the postmaster exits."""
    deadline = time.monotonic() + timeout
    try:
        process = psutil.Process(postmaster.pid)
    except psutil.NoSuchProcess:
        return False
    while True:
        if accepts_connections(postmaster):
            return True
        if not is_alive(process) or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def ensure_database(postmaster: Postmaster, passfile: Path) -> None:
    """CREATE DATABASE playstudio unless it exists, tolerating a concurrent creator."""
    try:
        _create_database(postmaster, passfile)
    except psycopg2.Error as exc:
        raise EmbeddedPostgresError(f"cannot create database {DATABASE!r}: {exc}") from exc


def _create_database(postmaster: Postmaster, passfile: Path) -> None:
    for attempt in range(10):
        conn = superuser_connect(postmaster, passfile, "postgres")
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


def dsn_for(postmaster: Postmaster, passfile: Path, user: str) -> str:
    """The URL of ``user`` on the server; libpq reads the password from ``passfile``.

    The port is always explicit: a PGPORT in the environment must not redirect the client.
    """
    socket_dir = quote(str(postmaster.socket_dir), safe="/")
    query = f"host={socket_dir}&port={postmaster.port}&passfile={quote(str(passfile), safe='/')}"
    return f"postgresql://{user}@/{DATABASE}?{query}"
