"""Who may log in to the embedded server: passwords for every role, the pipeline role owning
the warehouse, and a ``pg_hba.conf`` that accepts passwords only.

Also brings forward a cluster made by an earlier release (``trust`` for everyone, the pipeline
connected as superuser and owning nothing): same steps, in an order that never locks us out
(passwords first, then the authentication rule), keeping every row.
"""

from __future__ import annotations

from pathlib import Path

import psycopg2
from psycopg2 import sql

from playstudio_luigi.db.embedded.commands import RunAs
from playstudio_luigi.db.embedded.connections import superuser_connect
from playstudio_luigi.db.embedded.constants import DATABASE, SUPERUSER
from playstudio_luigi.db.embedded.credentials import (
    ANALYST_ROLE,
    HBA,
    PIPELINE_ROLE,
    Credentials,
)
from playstudio_luigi.db.embedded.datadir import replace_server_file
from playstudio_luigi.db.embedded.errors import EmbeddedPostgresError
from playstudio_luigi.db.embedded.processes import Postmaster
from playstudio_luigi.db.roles import create_roles


def hba_is_ours(data_dir: Path) -> bool:
    try:
        return (data_dir / "pg_hba.conf").read_text() == HBA
    except OSError:
        return False


def secure_cluster(
    postmaster: Postmaster, data_dir: Path, credentials: Credentials, run_as: RunAs | None
) -> None:
    """Idempotent; every start runs it, so the check comes first and costs one query."""
    try:
        if _roles_ready(postmaster, credentials) and hba_is_ours(data_dir):
            return
        _set_up_roles(postmaster, credentials)
        write_hba(data_dir, run_as)
        connection = superuser_connect(postmaster, credentials.passfile, "postgres")
        try:
            with connection.cursor() as cursor:
                cursor.execute("select pg_reload_conf()")
        finally:
            connection.close()
    except psycopg2.OperationalError as exc:
        raise EmbeddedPostgresError(
            f"cannot log in to the embedded PostgreSQL as {SUPERUSER} with the password in "
            f"{credentials.passfile} ({' '.join(str(exc).split())}); if that file was lost, "
            "restore it from a backup of the home"
        ) from exc


def _roles_ready(postmaster: Postmaster, credentials: Credentials) -> bool:
    connection = superuser_connect(postmaster, credentials.passfile, DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select 1 from pg_database d join pg_roles r on r.oid = d.datdba"
                " where d.datname = %s and r.rolname = %s",
                (DATABASE, PIPELINE_ROLE),
            )
            return cursor.fetchone() is not None
    finally:
        connection.close()


def _set_up_roles(postmaster: Postmaster, credentials: Credentials) -> None:
    """Passwords for the superuser and the pipeline role (not a superuser), which owns the
    database, its warehouse schemas and their tables; the analyst role reads gold."""
    connection = superuser_connect(postmaster, credentials.passfile, DATABASE)
    try:
        with connection, connection.cursor() as cursor:
            password = "alter role {} with password %s"
            cursor.execute(
                sql.SQL(password).format(sql.Identifier(SUPERUSER)),
                (credentials.passwords[SUPERUSER],),
            )
            create_roles(cursor, PIPELINE_ROLE, ANALYST_ROLE)
            pipeline = sql.Identifier(PIPELINE_ROLE)
            cursor.execute(
                sql.SQL(password + " login nosuperuser nocreaterole nocreatedb").format(pipeline),
                (credentials.passwords[PIPELINE_ROLE],),
            )
            cursor.execute(
                sql.SQL("alter database {} owner to {}").format(sql.Identifier(DATABASE), pipeline)
            )
    finally:
        connection.close()


def write_hba(data_dir: Path, run_as: RunAs | None) -> None:
    """Replace ``pg_hba.conf`` atomically by ours (owned by the server user)."""
    replace_server_file(data_dir / "pg_hba.conf", HBA, run_as)
