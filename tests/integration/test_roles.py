"""Least privilege: the pipeline runs as a role that owns only its schemas; analysts read gold."""

from __future__ import annotations

import uuid
from datetime import datetime as dt
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from psycopg2 import sql
from source_rows import tx

from playstudio_luigi import HourlyPipeline
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db.roles import create_roles, validate_identifier
from playstudio_luigi.testing import run, write_workbook

pytestmark = pytest.mark.integration


PASSWORD = "role-pw-Q7"  # servers authenticate by password (the embedded one too)


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD}@{parts.hostname or ''}"))


def test_identifiers_are_validated():
    assert validate_identifier("etl_pipeline", "--pipeline-role") == "etl_pipeline"
    for hostile in ("gold; drop schema bronze", "Robert'); --", "", "x" * 64, "9lives"):
        with pytest.raises(ValueError, match="--pipeline-role"):
            validate_identifier(hostile, "--pipeline-role")


def test_pipeline_runs_as_least_privileged_role(warehouse, db, tmp_path, monkeypatch):
    suffix = uuid.uuid4().hex[:8]
    pipeline, analyst = f"pipeline_{suffix}", f"analyst_{suffix}"
    with db.cursor() as cursor:
        create_roles(cursor, pipeline, analyst)
        for role in (pipeline, analyst):
            cursor.execute(
                sql.SQL("alter role {} password %s").format(sql.Identifier(role)), (PASSWORD,)
            )
    try:
        source = write_workbook(
            tmp_path / "w.xlsx",
            purchases=[
                (
                    dt(2022, 4, 1, 22, 1),
                    "U1",
                    "PriceInUSD=1.00",
                    tx(1),
                )
            ],
            spins=[(dt(2022, 4, 1, 22), "U1", "US", 3)],
        )
        monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
        monkeypatch.setenv("PLAYSTUDIO_DSN", as_user(warehouse, pipeline))
        db_connection.reset()
        assert run([HourlyPipeline(hour=dt(2022, 4, 1, 22))])
        with db.cursor() as cursor:
            cursor.execute("select tableowner from pg_tables where schemaname = 'gold'")
            assert {owner for (owner,) in cursor.fetchall()} == {pipeline}
            cursor.execute("select rolsuper from pg_roles where rolname = %s", (pipeline,))
            assert cursor.fetchone() == (False,)

        reader = psycopg2.connect(as_user(warehouse, analyst))
        reader.autocommit = True
        with reader.cursor() as cursor:
            cursor.execute("select count(*) from gold.aggregated_final_table")
            assert cursor.fetchone() == (1,)
            for statement in (
                "select count(*) from bronze.bronze_purchases",
                "delete from gold.aggregated_final_table",
                "create table gold.mine (x int)",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
        reader.close()
    finally:
        db_connection.reset()
        with db.cursor() as cursor:
            for role in map(sql.Identifier, (analyst, pipeline)):
                cursor.execute(sql.SQL("reassign owned by {} to current_user").format(role))
                cursor.execute(sql.SQL("drop owned by {}").format(role))
                cursor.execute(sql.SQL("drop role {}").format(role))
