"""Shared fixtures: a real PostgreSQL server for the session, a fresh database per test.

The server is ``PLAYSTUDIO_TEST_DSN`` (an admin URL of any PostgreSQL 13+) when set, else the
embedded PostgreSQL started in a temporary home. When it cannot start, the tests that need it
fail with the reason: they never skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from playstudio_luigi import config
from playstudio_luigi.db import connection as db_connection


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of a running PostgreSQL server (started here if need be)."""
    external = os.environ.get("PLAYSTUDIO_TEST_DSN")
    if external:
        yield external
        return
    from playstudio_luigi.db.embedded import SYSTEM_ROOT, EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg-home"))
    url = server.start()  # raises (test error, not skip) when the server cannot start
    try:
        yield url
    finally:
        data_dir = server.status().data_dir
        server.stop()
        # As root, a home under pytest's 0700 temp dir puts PGDATA under /var/lib: clean it.
        if SYSTEM_ROOT in data_dir.parents:
            shutil.rmtree(data_dir.parent, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: str, home: Path) -> Iterator[str]:
    """Create an empty database, point ``PLAYSTUDIO_DSN`` at it, drop it afterwards."""
    dbname = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{dbname}"')
    url = _with_database(admin_url, dbname)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.DSN_ENV, url)
        patch.setenv(config.HOME_ENV, str(home))
        db_connection.reset()
        try:
            yield url
        finally:
            db_connection.reset()
            with admin.cursor() as cursor:
                cursor.execute(f'drop database if exists "{dbname}" with (force)')
            admin.close()


@pytest.fixture
def warehouse(pg_admin_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, set as ``PLAYSTUDIO_DSN``; dropped afterwards."""
    with fresh_database(pg_admin_url, tmp_path / "home") as url:
        yield url


@pytest.fixture
def db(warehouse: str) -> Iterator[psycopg2.extensions.connection]:
    """An autocommit connection to the test's warehouse database (schema created)."""
    connection = db_connection.connect()
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()
