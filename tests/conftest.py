"""Shared fixtures: a real PostgreSQL server for the session, a fresh database per test, embedded
servers of a test's own; the Hypothesis profiles.

The server is ``PLAYSTUDIO_TEST_DSN`` (an admin URL of any PostgreSQL 13+) when set, else the
embedded PostgreSQL started in a temporary home. When it cannot start, the tests that need it
fail with the reason: they never skip.

Hypothesis: the profile ``playstudio`` (loaded for every test) has no deadline (two shared
cores make timings meaningless); property tests that build warehouses use the profile
``warehouse``, with ``PLAYSTUDIO_PROPERTY_EXAMPLES`` examples (default 6, CI's reduced count;
e.g. 100 for a full run).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from pathlib import Path

import psycopg2
import pytest
from faults import day_export, scratch_database
from hypothesis import HealthCheck, settings
from servers import remove_server
from webhook_server import FakeSlack

from playstudio_luigi import config
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db.embedded import EmbeddedPostgres

PROPERTY_EXAMPLES_ENV = "PLAYSTUDIO_PROPERTY_EXAMPLES"

settings.register_profile("playstudio", deadline=None)
settings.register_profile(
    "warehouse",
    parent=settings.get_profile("playstudio"),
    max_examples=int(os.environ.get(PROPERTY_EXAMPLES_ENV, "6")),
    # One database (module-scoped) serves every example; each example is slow by nature.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("playstudio")

FreshDatabase = Callable[[Path], AbstractContextManager[str]]
EmbeddedServer = Callable[[Path], EmbeddedPostgres]


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of a running PostgreSQL server (started here if need be)."""
    external = os.environ.get("PLAYSTUDIO_TEST_DSN")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg-home"))
    url = server.admin_url()  # raises (test error, not skip) when the server cannot start
    try:
        yield url
    finally:
        remove_server(server)


@contextmanager
def _fresh_database(admin_url: str, home: Path) -> Iterator[str]:
    with scratch_database(admin_url) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.DSN_ENV, url)
        patch.setenv(config.HOME_ENV, str(home))
        db_connection.reset()
        try:
            yield url
        finally:
            db_connection.reset()


@pytest.fixture(scope="session")
def fresh_database(pg_admin_url: str) -> FreshDatabase:
    """``fresh_database(home)``: a context that creates an empty database, points
    ``PLAYSTUDIO_DSN`` at it and ``PLAYSTUDIO_HOME`` at ``home``, and drops it afterwards.
    Session-scoped, so that module fixtures and each Hypothesis example can have their own."""
    return partial(_fresh_database, pg_admin_url)


@pytest.fixture
def warehouse(fresh_database: FreshDatabase, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, set as ``PLAYSTUDIO_DSN``; dropped afterwards."""
    with fresh_database(tmp_path / "home") as url:
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


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``PLAYSTUDIO_SOURCE`` pointed at ``export.xlsx`` in the test's directory (the test
    writes it, and re-writes it to change the export)."""
    path = tmp_path / "export.xlsx"
    monkeypatch.setenv(config.SOURCE_ENV, str(path))
    return path


@pytest.fixture(scope="session")
def day_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reliability suites' day of exports (``faults.day_export``), written once."""
    return day_export(tmp_path_factory.mktemp("day") / "day.xlsx")


@pytest.fixture
def embedded_server() -> Iterator[EmbeddedServer]:
    """``embedded_server(home)``: the embedded server of ``home`` (not started), stopped and
    removed with its state (``servers.remove_server``) after the test."""
    servers: list[EmbeddedPostgres] = []

    def make(home: Path) -> EmbeddedPostgres:
        server = EmbeddedPostgres(home)
        servers.append(server)
        return server

    yield make
    with ExitStack() as cleanup:
        for server in servers:
            cleanup.callback(remove_server, server)


@pytest.fixture
def slack_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A real local HTTP server standing in for Slack, ``PLAYSTUDIO_SLACK_WEBHOOK_URL`` set
    to it; ``.payloads`` holds what it received."""
    with FakeSlack().running() as fake:
        monkeypatch.setenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", fake.url)
        yield fake
