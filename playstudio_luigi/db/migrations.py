"""Schema evolution: numbered migrations, applied in order and recorded in the warehouse.

A migration is a Jinja SQL template ``sql/migrations/NNNN_<name>.sql``. Each one runs in its own
transaction together with its row in ``ops.schema_migrations``, so a crash leaves the warehouse
at a recorded version, never between two. ``0001_baseline`` is the schema of the last release
before migrations, written so that it also brings forward any earlier warehouse.

Connections only read the recorded version when it is current: re-running DDL while tasks
write takes table locks and deadlocked with them before. Only when something is pending is the
advisory lock taken; whoever gets it second finds the work done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import psycopg2.extensions

from playstudio_luigi.db.sql import render, template_names

# Arbitrary constant naming "schema migration" among this project's advisory locks.
SCHEMA_LOCK_KEY = 0x5057_5343

_FILE_NAME = re.compile(r"^migrations/(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    template: str

    def sql(self) -> str:
        return render(self.template)


class WarehouseTooNewError(RuntimeError):
    """The warehouse was migrated by a newer playstudio_luigi than the one running: its tables
    may have columns or meanings this code does not know, so it is not touched at all."""

    log_traceback = False  # one line says what to do (see redaction.RedactingFilter)

    def __init__(self, installed: int, latest: int) -> None:
        super().__init__(
            f"the warehouse schema is at migration {installed:04d} but this playstudio_luigi "
            f"knows migrations up to {latest:04d}: upgrade playstudio_luigi to use this warehouse"
        )
        self.installed = installed
        self.latest = latest


@cache
def known_migrations() -> tuple[Migration, ...]:
    """Every migration shipped with this code, by version (gaps and duplicates are bugs)."""
    migrations = []
    for template in template_names("migrations"):
        match = _FILE_NAME.match(template)
        if match is None:
            raise ValueError(f"{template}: migration files are named NNNN_<name>.sql")
        migrations.append(Migration(int(match[1]), match[2], template))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must run 1, 2, 3, ... without gaps: {versions}")
    return tuple(migrations)


def latest_version() -> int:
    return known_migrations()[-1].version


def installed_version(cursor: psycopg2.extensions.cursor) -> int:
    """The highest recorded migration; 0 for an empty or pre-migration warehouse."""
    cursor.execute("select to_regclass('ops.schema_migrations') is not null")
    if not cursor.fetchone()[0]:
        return 0
    cursor.execute("select coalesce(max(version), 0) from ops.schema_migrations")
    return cursor.fetchone()[0]


def _checked(installed: int, latest: int) -> bool:
    """True when nothing is pending; raises when the warehouse is newer than this code."""
    if installed > latest:
        raise WarehouseTooNewError(installed, latest)
    return installed == latest


def _apply_next(connection: psycopg2.extensions.connection, latest: int) -> bool:
    """Apply the next pending migration under the lock; False when there was none left."""
    with connection, connection.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        # The record table first: its DDL locks the schema, which makes this session see
        # catalog changes committed while it waited (a name lookup alone may not).
        cursor.execute(render("ops/schema_migrations.sql"))
        installed = installed_version(cursor)
        if _checked(installed, latest):
            return False  # a concurrent process got there while we waited
        migration = known_migrations()[installed]
        cursor.execute(migration.sql())
        cursor.execute(
            render("ops/record_migration.sql"),
            {"version": migration.version, "name": migration.name},
        )
    return True


def ensure_schema(connection: psycopg2.extensions.connection) -> None:
    """Bring the warehouse to the latest migration; safe to call concurrently and repeatedly.

    Raises :class:`WarehouseTooNewError` when the warehouse records a newer migration.
    """
    latest = latest_version()
    with connection, connection.cursor() as cursor:
        if _checked(installed_version(cursor), latest):
            return  # the fast path: one catalog lookup and one max(), no lock, no DDL
    while _apply_next(connection, latest):
        pass
