"""Schema management: every schema, table, index and the marker table, created up front.

Luigi's own contrib creates its marker table lazily on first write, which races when several
workers start at once. Here the whole schema is created idempotently, under an advisory lock,
the first time a process connects, and recorded with a fingerprint of the DDL in
``ops.schema_version``. Later connections only read the fingerprint: re-running DDL while other
tasks write would take table locks (``create index if not exists`` locks its table) and can
deadlock with them.
"""

from __future__ import annotations

import hashlib

import psycopg2.extensions

from playstudio_luigi.db.sql import render, template_names

# Arbitrary constant naming "schema migration" among this project's advisory locks.
SCHEMA_LOCK_KEY = 0x5057_5343


def schema_ddl() -> list[str]:
    """The DDL statements of ``sql/schema/``, in file order."""
    return [render(name) for name in template_names("schema")]


def schema_fingerprint(ddl: list[str]) -> str:
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()


def _installed_fingerprint(cursor: psycopg2.extensions.cursor) -> str | None:
    cursor.execute("select to_regclass('ops.schema_version') is not null")
    if not cursor.fetchone()[0]:
        return None
    cursor.execute("select fingerprint from ops.schema_version")
    row = cursor.fetchone()
    return row[0] if row else None


def ensure_schema(connection: psycopg2.extensions.connection) -> None:
    """Create everything that does not exist yet; safe to call concurrently and repeatedly."""
    ddl = schema_ddl()
    fingerprint = schema_fingerprint(ddl)
    with connection, connection.cursor() as cursor:
        if _installed_fingerprint(cursor) == fingerprint:
            return
        cursor.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        if _installed_fingerprint(cursor) == fingerprint:
            return  # a concurrent process installed it while we waited
        for statement in ddl:
            cursor.execute(statement)
        cursor.execute("delete from ops.schema_version")
        cursor.execute("insert into ops.schema_version (fingerprint) values (%s)", (fingerprint,))
