"""The warehouse documents itself: comments on every table and column, and the declared
lineage and checks name tables that exist (the data docs read all three back)."""

from __future__ import annotations

from datetime import datetime

import pytest

import playstudio_luigi
from playstudio_luigi.datadocs import lineage
from playstudio_luigi.datadocs.collect import SCHEMAS, table_reference
from playstudio_luigi.quality.checks import CHECKS, INGEST_CHECKS

pytestmark = pytest.mark.integration


def test_every_table_and_column_has_a_comment(db):
    tables = table_reference(db)
    assert {t.qualified_name for t in tables} >= {
        "bronze.bronze_purchases",
        "bronze.bronze_spins_hourly",
        "silver.silver_purchases",
        "silver.silver_spins_hourly",
        "gold.aggregated_final_table",
        "ops.quarantine",
        "ops.schema_migrations",
    }
    assert {t.schema for t in tables} == set(SCHEMAS)
    for table in tables:
        assert table.description, f"{table.qualified_name}: no table comment"
        assert table.grain.startswith("one row"), f"{table.qualified_name}: no grain"
        for column in table.columns:
            assert column.description, f"{table.qualified_name}.{column.name}: no comment"
    gold = next(t for t in tables if t.qualified_name == "gold.aggregated_final_table")
    types = {column.name: column.type for column in gold.columns}
    assert types["total_revenue_hourly"] == "numeric(14,2)"
    assert types["app_hour"] == "timestamp without time zone"
    assert [c.name for c in gold.columns if c.primary_key] == ["app_hour", "user_id"]
    assert {c.name for c in gold.checks} == {c.name for c in CHECKS if c.layer == "gold"}


def test_declared_lineage_and_checks_name_real_tables(db):
    known = {t.qualified_name for t in table_reference(db)}
    graph = lineage.table_lineage(playstudio_luigi.HourlyPipeline(hour=datetime(2022, 4, 1)))
    for node in graph.nodes:
        assert node.id.startswith("sheet:") or node.id in known, node.id
    for check in (*CHECKS, *INGEST_CHECKS.values()):
        assert check.checked_tables and set(check.checked_tables) <= known, check.qualified_name
