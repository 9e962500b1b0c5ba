"""The bundled sample end to end: gold equals an independent model; reruns change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
from reference_model import gold_reference

from playstudio_luigi import testing
from playstudio_luigi.db.connection import connect
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.testing import table_rows
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

SAMPLE = Path(str(BUNDLED_SAMPLE))
START, STOP = datetime(2022, 4, 1), datetime(2022, 4, 3)
GOLD_COLUMNS = list(testing.GOLD_COLUMNS)


@pytest.fixture(scope="module")
def loaded(fresh_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database with the bundled sample backfilled once (shared by this module's tests)."""
    with (
        fresh_database(tmp_path_factory.mktemp("home")) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("PLAYSTUDIO_SOURCE", str(SAMPLE))
        assert run_backfill(START, STOP, workers=1)
        yield url


@pytest.fixture
def conn(loaded: str) -> Iterator[psycopg2.extensions.connection]:
    connection = connect()
    connection.autocommit = True
    yield connection
    connection.close()


def test_gold_equals_independent_pandas_model(conn):
    expected = gold_reference(SAMPLE)
    actual = (
        pd.DataFrame(
            table_rows(conn, "gold.aggregated_final_table", GOLD_COLUMNS), columns=GOLD_COLUMNS
        )
        .sort_values(["app_hour", "user_id"])
        .reset_index(drop=True)
    )
    assert len(actual) == len(expected) > 0
    for column in GOLD_COLUMNS:
        if column == "avg_revenue_per_purchase_hourly":
            # stored rounded to 6 decimals
            diffs = (actual[column] - expected[column]).map(abs)
            assert (diffs <= Decimal("0.000001")).all(), column
        else:
            assert actual[column].tolist() == expected[column].tolist(), column


def test_sample_quirks_reach_gold(conn):
    with conn.cursor() as cursor:
        cursor.execute("select count(*) from gold.aggregated_final_table where country = 'UNKNOWN'")
        assert cursor.fetchone()[0] > 0, "purchases in hours without spins"
        cursor.execute("select count(*), sum(source_copies) from silver.silver_purchases")
        transactions, copies = cursor.fetchone()
        assert copies > transactions, "exact duplicates collapsed to one silver row each"
        cursor.execute("select count(*) from bronze.bronze_purchases")
        assert cursor.fetchone()[0] == copies
        cursor.execute("select count(*) from ops.quarantine")
        assert cursor.fetchone()[0] == 0


def _snapshot(conn) -> dict[str, list[tuple]]:
    tables = {
        "gold.aggregated_final_table": [*GOLD_COLUMNS, "updated_at"],
        "silver.silver_purchases": ["transaction_id", "revenue", "loaded_at"],
        "silver.silver_spins_hourly": [
            "app_hour",
            "user_id",
            "country",
            "total_spins",
            "loaded_at",
        ],
        "bronze.bronze_purchases": ["interval_start", "source_row", "extracted_at"],
        "ops.task_markers": ["task_family", "interval_start", "completed_at"],
    }
    return {table: table_rows(conn, table, columns) for table, columns in tables.items()}


def test_second_backfill_runs_nothing_and_changes_nothing(conn, monkeypatch):
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(SAMPLE))
    before = _snapshot(conn)
    assert run_backfill(START, STOP, workers=2)
    # Timestamps included: not a single row was rewritten, so no task ran.
    assert _snapshot(conn) == before
