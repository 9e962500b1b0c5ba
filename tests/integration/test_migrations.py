"""Upgrades: warehouses of earlier releases are migrated in place keeping every row, a fresh
install and an upgraded one end with the same catalog, a newer warehouse is refused, and
concurrent first connections migrate once.

Fixtures in tests/upgrade/ (see its README): a dump of a warehouse built and loaded by commit
ae1e6ff's own code, and the v1 (0a4a904) schema with hand-written rows.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from playstudio_luigi import testing
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db.migrations import (
    SCHEMA_LOCK_KEY,
    WarehouseTooNewError,
    ensure_schema,
    known_migrations,
    latest_version,
)
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.testing import CATALOG_TABLES
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

UPGRADE = Path(__file__).resolve().parent.parent / "upgrade"
AE1E6FF_DUMP = UPGRADE / "ae1e6ff_warehouse.sql.gz"
V1_SCHEMA = UPGRADE / "v1_0a4a904_schema.sql"
V1_ROWS = UPGRADE / "v1_0a4a904_rows.sql"
SCHEMAS = ("staging", "bronze", "silver", "gold", "ops")
START, STOP = datetime(2022, 4, 1), datetime(2022, 4, 3)  # every hour of the bundled sample
EVERY_MIGRATION = [(m.version, m.name) for m in known_migrations()]
# Written-at timestamps differ between runs; everything else must match.
RUN_TIME_COLUMNS = {"loaded_at", "updated_at"}


def _execute_file(url: str, path: Path) -> None:
    """Run a plain SQL file (gzipped or not) in one transaction, as a restore would."""
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(text)
    finally:
        connection.close()


def _raw(url: str) -> psycopg2.extensions.connection:
    """A connection that does not migrate (unlike ``db.connection.connect``)."""
    connection = psycopg2.connect(url, options="-c timezone=UTC")
    connection.autocommit = True
    return connection


def _query(connection: psycopg2.extensions.connection, query: str, *args: object) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchall() if cursor.description else []


def _columns(connection: psycopg2.extensions.connection) -> dict[str, list[str]]:
    """Column names of every warehouse table, in column order."""
    rows = _query(
        connection,
        "select table_schema || '.' || table_name, column_name from information_schema.columns"
        " where table_schema = any(%s) order by table_schema, table_name, ordinal_position",
        list(SCHEMAS),
    )
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _contents(
    connection: psycopg2.extensions.connection, columns: dict[str, list[str]]
) -> dict[str, list[tuple]]:
    """Every row of the given tables, projected on the given columns, sorted."""
    return {table: testing.table_rows(connection, table, cols) for table, cols in columns.items()}


def _applied(connection: psycopg2.extensions.connection) -> list[tuple]:
    return _query(connection, "select version, name from ops.schema_migrations order by version")


def _catalog(connection: psycopg2.extensions.connection) -> dict[str, list[tuple]]:
    """What a migration defines: tables, columns, constraints, indexes, sequences, comments."""
    schemas = list(SCHEMAS)
    return {
        "tables": _query(
            connection,
            "select n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class')"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) order by 1, 2",
            schemas,
        ),
        "columns": _query(
            connection,
            "select n.nspname, c.relname, a.attnum, a.attname,"
            " format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,"
            " pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)"
            " from pg_attribute a join pg_class c on c.oid = a.attrelid"
            " join pg_namespace n on n.oid = c.relnamespace"
            " left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum"
            " where n.nspname = any(%s) and c.relkind = 'r' and a.attnum > 0"
            " and not a.attisdropped order by 1, 2, 3",
            schemas,
        ),
        "constraints": _query(
            connection,
            "select n.nspname, c.relname, k.contype, pg_get_constraintdef(k.oid)"
            " from pg_constraint k join pg_class c on c.oid = k.conrelid"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) order by 1, 2, 3, 4",
            schemas,
        ),
        "indexes": _query(
            connection,
            "select schemaname, indexname, indexdef from pg_indexes"
            " where schemaname = any(%s) order by 1, 2",
            schemas,
        ),
    }


def _v1_warehouse(url: str) -> None:
    _execute_file(url, V1_SCHEMA)
    _execute_file(url, V1_ROWS)


def test_migrations_are_numbered_from_one():
    assert [version for version, _ in EVERY_MIGRATION] == list(range(1, latest_version() + 1))
    assert EVERY_MIGRATION[0] == (1, "baseline")


def test_fresh_database_records_every_migration(warehouse):
    connection = db_connection.connect()
    connection.autocommit = True
    assert _applied(connection) == EVERY_MIGRATION
    assert _query(connection, "select to_regclass('ops.schema_version')") == [(None,)]
    connection.close()


def test_ae1e6ff_warehouse_is_migrated_keeping_every_row(warehouse, fresh_database, tmp_path):
    _execute_file(warehouse, AE1E6FF_DUMP)
    before = _raw(warehouse)
    columns = _columns(before)
    assert "ops.schema_version" in columns and "ops.schema_migrations" not in columns
    del columns["ops.schema_version"]  # the fingerprint table is retired by a migration
    dumped = _contents(before, columns)
    assert len(dumped["gold.aggregated_final_table"]) > 0
    assert len(dumped["ops.task_markers"]) > 0
    before.close()

    connection = db_connection.connect()  # migrates
    connection.autocommit = True
    assert _applied(connection) == EVERY_MIGRATION
    after = _columns(connection)
    assert after.pop("ops.schema_migrations") == ["version", "name", "applied_at"]
    assert after.pop("ops.source_health")[:2] == ["sheet", "watermark"]  # by 0006_source_health
    added = {"ops.check_results": ["interval_starts"]}  # by 0003_check_interval_starts
    catalog = {table: after.pop(table) for table in CATALOG_TABLES}  # by 0004_source_catalog
    assert catalog["ops.source_files"][:2] == ["source", "path"]
    # by 0005_conflicts_in_silver: conflicts are decided in silver, the staged column is gone
    dropped = {"staging.extract_purchases": ["conflicts_with_row"]}
    kept = {
        table: [name for name in names if name not in dropped.get(table, [])]
        for table, names in columns.items()
    }
    assert after == {table: [*names, *added.get(table, [])] for table, names in kept.items()}
    assert _contents(connection, kept) == {
        table: rows if table not in dropped else _without(rows, columns[table], dropped[table])
        for table, rows in dumped.items()
    }
    comment = "select col_description('ops.check_results'::regclass, 6)"
    assert _query(connection, comment) == [("Check name (see playstudio_luigi.quality.checks).",)]

    # The pipeline runs on the upgraded warehouse and ends where a fresh install does.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYSTUDIO_SOURCE", str(BUNDLED_SAMPLE))
        assert run_backfill(START, STOP, full_refresh=True)
        upgraded = _layer_contents(connection)
        with fresh_database(tmp_path / "fresh-home"):
            assert run_backfill(START, STOP)
            fresh_connection = db_connection.connect()
            fresh = _layer_contents(fresh_connection)
            fresh_connection.close()
    connection.close()
    assert set(upgraded) == {
        "silver.silver_purchases",
        "silver.silver_spins_hourly",
        "gold.aggregated_final_table",
    }
    for table, rows in upgraded.items():
        assert len(rows) > 0, table
        assert rows == fresh[table], table


def _without(rows: list[tuple], names: list[str], dropped: list[str]) -> list[tuple]:
    """``rows`` (of columns ``names``) without the ``dropped`` columns, sorted as
    :func:`testing.table_rows` sorts."""
    keep = [index for index, name in enumerate(names) if name not in dropped]
    projected = [tuple(row[index] for index in keep) for row in rows]
    return sorted(projected, key=lambda row: tuple((v is None, str(v)) for v in row))


def _layer_contents(connection: psycopg2.extensions.connection) -> dict[str, list[tuple]]:
    """Silver and gold without their written-at timestamps."""
    return _contents(
        connection,
        {
            table: [c for c in cols if c not in RUN_TIME_COLUMNS]
            for table, cols in _columns(connection).items()
            if table.split(".")[0] in ("silver", "gold")
        },
    )


def test_v1_warehouse_is_migrated_keeping_every_row(warehouse):
    _v1_warehouse(warehouse)
    before = _raw(warehouse)
    v1_columns = _columns(before)
    v1_rows = _contents(before, v1_columns)
    assert len(v1_rows["ops.quarantine"]) == 3
    before.close()

    connection = db_connection.connect()
    connection.autocommit = True
    assert _applied(connection) == EVERY_MIGRATION
    assert _contents(connection, v1_columns) == v1_rows  # v1 staged no conflict column
    columns = _columns(connection)
    assert columns["ops.quarantine"][0] == "quarantine_id"
    assert "conflicts_with_row" not in columns["staging.extract_purchases"]  # 0005
    assert {"ops.interval_loads", "ops.check_results", "ops.task_runs"} <= set(columns)
    assert "ops.schema_version" not in columns
    # Surrogate keys assigned in quarantine order; the v1 key is gone.
    ids = _query(connection, "select quarantine_id from ops.quarantine order by quarantined_at")
    assert ids == [(1,), (2,), (3,)]
    primary_key = _query(
        connection,
        "select pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'ops.quarantine'::regclass and contype = 'p'",
    )
    assert primary_key == [("PRIMARY KEY (quarantine_id)",)]
    with pytest.raises(psycopg2.errors.CheckViolation):
        _query(
            connection,
            "insert into ops.quarantine (interval_start, sheet, source_row, source_path,"
            " source_sha256, raw_values, reasons, task_family)"
            " values (null, 'Purchases', 1, 'p', 's', '{}', '{}', 't')",
        )
    # An undated row (v1 could not hold one) now fits, once per source version.
    _query(
        connection,
        "insert into ops.quarantine (interval_start, sheet, source_row, source_path,"
        " source_sha256, raw_values, reasons, task_family)"
        " values (null, 'Purchases', 1, 'p', 's', '{}', array['date: unreadable'], 't')",
    )
    # New rows continue after the migrated ones.
    assert _query(connection, "select max(quarantine_id) > 3 from ops.quarantine") == [(True,)]
    connection.close()


def test_fresh_install_and_upgraded_v1_have_the_same_catalog(fresh_database, tmp_path):
    with fresh_database(tmp_path / "fresh") as url:
        db_connection.connect().close()
        fresh_connection = _raw(url)
        fresh = _catalog(fresh_connection)
        fresh_connection.close()
    with fresh_database(tmp_path / "v1") as url:
        _v1_warehouse(url)
        db_connection.connect().close()
        upgraded_connection = _raw(url)
        upgraded = _catalog(upgraded_connection)
        upgraded_connection.close()
    assert {t[1] for t in fresh["tables"]} >= {"schema_migrations", "quarantine", "task_runs"}
    for part in fresh:
        assert upgraded[part] == fresh[part], part


def test_newer_warehouse_is_refused_with_a_clear_message(warehouse):
    connection = db_connection.connect()
    connection.autocommit = True
    newer = latest_version() + 1
    _query(
        connection,
        "insert into ops.schema_migrations (version, name) values (%s, 'from_the_future')"
        " returning version",
        newer,
    )
    connection.close()
    db_connection.reset()
    with pytest.raises(WarehouseTooNewError) as raised:
        db_connection.connect()
    message = str(raised.value)
    assert "\n" not in message
    assert f"{newer:04d}" in message and f"{latest_version():04d}" in message
    assert "upgrade playstudio_luigi" in message
    assert isinstance(raised.value, RuntimeError) and raised.value.log_traceback is False


def test_current_warehouse_takes_no_lock(warehouse):
    """The fast path neither waits for the migration lock nor runs DDL."""
    db_connection.connect().close()
    holder = _raw(warehouse)
    holder.autocommit = False
    _query(holder, "select pg_advisory_xact_lock(%s)", SCHEMA_LOCK_KEY)
    _query(holder, "lock table ops.quarantine in access exclusive mode")
    connection = psycopg2.connect(warehouse, options="-c statement_timeout=2000")
    try:
        ensure_schema(connection)  # would time out if it waited for either lock
    finally:
        connection.close()
        holder.rollback()
        holder.close()


def test_concurrent_first_connections_migrate_once(warehouse, tmp_path):
    """Threads and processes connecting at once to an empty database: all succeed, each
    migration recorded once."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def migrate() -> None:
        connection = psycopg2.connect(warehouse)
        try:
            barrier.wait()
            ensure_schema(connection)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)
        finally:
            connection.close()

    code = "from playstudio_luigi.db.connection import connect; connect().close()"
    env = {**os.environ, "PLAYSTUDIO_DSN": warehouse}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, cwd=tmp_path
        )
        for _ in range(3)
    ]
    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
    assert errors == []
    assert all(returncode == 0 for returncode, _ in outcomes), outcomes
    connection = _raw(warehouse)
    assert _applied(connection) == EVERY_MIGRATION
    connection.close()
