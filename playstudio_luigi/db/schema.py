"""Schema management: every schema, table, index and the marker table, created up front.

Luigi's own contrib creates its marker table lazily on first write, which races when several
workers start at once. Here the whole schema is created idempotently, under an advisory lock,
the first time a process connects.
"""

from __future__ import annotations

import psycopg2.extensions

from playstudio_luigi.db.sql import render, template_names

# Arbitrary constant naming "schema migration" among this project's advisory locks.
SCHEMA_LOCK_KEY = 0x5057_5343


def ensure_schema(connection: psycopg2.extensions.connection) -> None:
    """Create everything that does not exist yet; safe to call concurrently and repeatedly."""
    with connection, connection.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        for name in template_names("schema"):
            cursor.execute(render(name))
