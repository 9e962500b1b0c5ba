"""Least privilege: a pipeline role that owns only the warehouse schemas, and a read-only
analyst role for gold. Run once by an administrator (``playstudio-luigi db roles``).

Role names are identifiers from the command line: they are validated and quoted, never spliced.
"""

from __future__ import annotations

import re

import psycopg2.extensions
from psycopg2 import sql

SCHEMAS = ("staging", "bronze", "silver", "gold", "ops")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def validate_identifier(name: str, setting: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier, else a ValueError naming ``setting``."""
    if not _ROLE_NAME.match(name):
        raise ValueError(
            f"{setting} = {name!r} is not a plain identifier "
            "(lower-case letters, digits and '_', at most 63, not starting with a digit)"
        )
    return name


def create_roles(cursor: psycopg2.extensions.cursor, pipeline: str, analyst: str) -> None:
    """Create (or fix up) both roles and hand the warehouse schemas to the pipeline role."""
    pipeline_id = sql.Identifier(validate_identifier(pipeline, "--pipeline-role"))
    analyst_id = sql.Identifier(validate_identifier(analyst, "--analyst-role"))
    for name, identifier in ((pipeline, pipeline_id), (analyst, analyst_id)):
        cursor.execute("select 1 from pg_roles where rolname = %s", (name,))
        if cursor.fetchone() is None:
            # Passwords are set by the administrator (or ~/.pgpass); never passed through here.
            cursor.execute(sql.SQL("create role {} login").format(identifier))
    cursor.execute("select current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    cursor.execute(
        sql.SQL("grant connect on database {} to {}, {}").format(database, pipeline_id, analyst_id)
    )
    for schema in SCHEMAS:
        schema_id = sql.Identifier(schema)
        cursor.execute(
            sql.SQL("create schema if not exists {} authorization {}").format(
                schema_id, pipeline_id
            )
        )
        cursor.execute(sql.SQL("alter schema {} owner to {}").format(schema_id, pipeline_id))
        cursor.execute("select tablename from pg_tables where schemaname = %s", (schema,))
        for (table,) in cursor.fetchall():
            cursor.execute(
                sql.SQL("alter table {}.{} owner to {}").format(
                    schema_id, sql.Identifier(table), pipeline_id
                )
            )
    gold = sql.Identifier("gold")
    cursor.execute(sql.SQL("grant usage on schema {} to {}").format(gold, analyst_id))
    cursor.execute(
        sql.SQL("grant select on all tables in schema {} to {}").format(gold, analyst_id)
    )
    cursor.execute(
        sql.SQL(
            "alter default privileges for role {} in schema {} grant select on tables to {}"
        ).format(pipeline_id, gold, analyst_id)
    )
