"""Embedded servers keep each other, and their pipelines, out.

The issue's attack, reproduced: from one home's superuser, ``COPY ... FROM PROGRAM`` runs psql
as the server's OS user (as root: ``playstudio-pg``, shared by every home) against another
home's server, to read its files with ``pg_read_file``. Now every server checks passwords
(SCRAM; each home's own, in its 0600 ``pgpass``), and the pipeline's DSN is a role that owns
its warehouse but is no superuser. A cluster made by the previous release (``trust``, the
pipeline as superuser) is brought forward by the next start with every row.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

import psycopg2
import pytest
from faults import connected
from psycopg2 import errors, sql

from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db.embedded.commands import run_command
from playstudio_luigi.db.embedded.datadir import locate_data_dir
from playstudio_luigi.db.embedded.runtime import make_dir, prepare_runtime
from playstudio_luigi.db.embedded.sockets import prepare_socket_dir, socket_dir_for
from playstudio_luigi.db.embedded.startup import pg_ctl_start, write_settings
from playstudio_luigi.db.roles import SCHEMAS
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

PIPELINE = "playstudio_pipeline"
START, STOP = datetime(2022, 4, 1), datetime(2022, 4, 3)


def _scalar(dsn: str, query: str, *args: object) -> object:
    with connected(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchone()[0]


def test_a_homes_superuser_cannot_reach_another_homes_server(embedded_server, tmp_path):
    home_a, home_b = embedded_server(tmp_path / "a"), embedded_server(tmp_path / "b")
    admin_a = home_a.admin_url()
    home_b.start()
    socket_b = home_b.status().socket_dir
    _run_as, bin_dir = prepare_runtime()
    psql = f"{bin_dir / 'psql'} -w -X -At -h '{socket_b}' -p 5432 -d postgres"
    with connected(admin_a) as connection, connection.cursor() as cursor:
        cursor.execute("create temp table loot (line text)")
        for user in ("postgres", PIPELINE):
            program = f"{psql} -U {user} -c \"select pg_read_file('PG_VERSION')\" 2>&1; true"
            cursor.execute(sql.SQL("copy loot from program {}").format(sql.Literal(program)))
        cursor.execute("select string_agg(line, ' | ') from loot")
        (said,) = cursor.fetchone()
    assert "18" not in said.split(" | "), f"read another home's file: {said}"
    assert said.count("no password supplied") == 2, said


def test_one_homes_password_does_not_open_another(embedded_server, tmp_path):
    home_a, home_b = embedded_server(tmp_path / "a"), embedded_server(tmp_path / "b")
    home_a.start()
    home_b.start()
    socket_b = home_b.status().socket_dir
    for user in ("postgres", PIPELINE):
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(
                host=str(socket_b),
                port=5432,
                dbname="postgres",
                user=user,
                passfile=str(home_a.home / "pgpass"),
            )
    hba = (home_b.status().data_dir / "pg_hba.conf").read_text()
    assert "trust" not in hba and "scram-sha-256" in hba
    passfile = (home_b.home / "pgpass").stat()
    assert stat.S_IMODE(passfile.st_mode) == 0o600 and passfile.st_uid == os.geteuid()


def test_the_pipeline_owns_its_warehouse_and_nothing_more(embedded_server, tmp_path, monkeypatch):
    dsn = embedded_server(tmp_path / "a").start()
    assert _scalar(dsn, "select current_user") == PIPELINE
    assert _scalar(dsn, "select rolsuper from pg_roles where rolname = current_user") is False
    monkeypatch.setenv("PLAYSTUDIO_DSN", dsn)
    db_connection.reset()
    db_connection.connect().close()  # the schema, created by the pipeline role
    db_connection.reset()
    owners = _scalar(
        dsn,
        "select array_agg(distinct tableowner) from pg_tables where schemaname = any(%s)",
        list(SCHEMAS),
    )
    assert owners == [PIPELINE]
    for statement in (
        "copy (select 1) to program 'id'",
        "select pg_read_file('postgresql.conf')",
        "alter system set fsync = off",
        "create role intruder superuser",
    ):
        with (
            connected(dsn) as connection,
            connection.cursor() as cursor,
            pytest.raises(errors.InsufficientPrivilege),
        ):
            cursor.execute(statement)


def _previous_release_cluster(home: Path) -> str:
    """A cluster as the previous release made it: ``initdb --auth=trust``, started; returns
    the superuser DSN its pipeline used (no password: the socket was trusted)."""
    home.mkdir(parents=True)
    run_as, bin_dir = prepare_runtime()
    data_dir = locate_data_dir(home, run_as)
    if data_dir.parent != home:
        make_dir(data_dir.parent.parent, 0o755)
        make_dir(data_dir.parent, 0o755)
    data_dir.mkdir(mode=0o700)
    if run_as is not None:
        os.chown(data_dir, run_as.uid, run_as.gid)
    initdb = [bin_dir / "initdb", "-D", data_dir, "--auth=trust", "--encoding=UTF8"]
    rc, output = run_command([*initdb, "--locale=C", "-U", "postgres"], run_as, 300)
    assert rc == 0, output
    socket_dir = socket_dir_for(data_dir)
    prepare_socket_dir(socket_dir, data_dir, run_as)
    write_settings(data_dir, socket_dir, run_as)
    pg_ctl_start(data_dir, bin_dir, run_as)
    server = f"host={socket_dir} port=5432 user=postgres"
    with connected(f"{server} dbname=postgres") as connection, connection.cursor() as cursor:
        cursor.execute("create database playstudio")
    return f"{server} dbname=playstudio"


def _row_counts(dsn: str) -> dict[str, int]:
    with connected(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select schemaname || '.' || tablename from pg_tables where schemaname = any(%s)",
            (list(SCHEMAS),),
        )
        tables = sorted(name for (name,) in cursor.fetchall())
        counts = {}
        for table in tables:
            schema, name = table.split(".")
            cursor.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(name)
                )
            )
            counts[table] = cursor.fetchone()[0]
    return counts


def test_a_trust_cluster_of_the_previous_release_is_secured_keeping_every_row(
    embedded_server, tmp_path, monkeypatch
):
    home = tmp_path / "old"
    server = embedded_server(home)
    trust_dsn = _previous_release_cluster(home)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(BUNDLED_SAMPLE))
    monkeypatch.setenv("PLAYSTUDIO_HOME", str(home))
    monkeypatch.setenv("PLAYSTUDIO_DSN", trust_dsn)
    db_connection.reset()
    assert run_backfill(START, STOP)  # the old pipeline: superuser, owning everything
    before = _row_counts(trust_dsn)
    assert before["gold.aggregated_final_table"] > 0
    server.stop()

    dsn = server.start()  # the upgrade
    assert _row_counts(dsn) == before
    assert _scalar(dsn, "select rolsuper from pg_roles where rolname = current_user") is False
    owners = _scalar(
        dsn,
        "select array_agg(distinct tableowner) from pg_tables where schemaname = any(%s)",
        list(SCHEMAS),
    )
    assert owners == [PIPELINE]
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        psycopg2.connect(trust_dsn, passfile="/dev/null")

    monkeypatch.setenv("PLAYSTUDIO_DSN", dsn)
    db_connection.reset()
    assert run_backfill(START, STOP, full_refresh=True)  # the pipeline role rebuilds it all
    db_connection.reset()
    after = _row_counts(dsn)
    layers = [t for t in before if not t.startswith("ops.task_runs") and "check" not in t]
    assert {t: after[t] for t in layers} == {t: before[t] for t in layers}
