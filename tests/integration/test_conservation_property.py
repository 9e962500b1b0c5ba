"""Property: for any mix of good and bad rows, every source row is loaded or quarantined,
and no good row is lost on its way to gold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import luigi
import psycopg2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from source_rows import tx

from playstudio_luigi import HourlyPipeline
from playstudio_luigi.db.connection import connect
from playstudio_luigi.testing import reset_warehouse, run, table_rows, write_workbook

pytestmark = pytest.mark.integration

HOUR = datetime(2022, 4, 1, 22)

# Each bad kind: how to spoil a good (date, user, revenue, transaction_id) row.
BAD_KINDS = {
    "bad revenue": lambda r: (r[0], r[1], "4.99", r[3]),
    "foreign currency": lambda r: (r[0], r[1], "PriceInGBP=1.00", r[3]),
    "no user": lambda r: (r[0], None, r[2], r[3]),
    "spaced user": lambda r: (r[0], "a b", r[2], r[3]),
    "not a uuid": lambda r: (r[0], r[1], r[2], "tx-1"),
    "text date": lambda r: (r[0].isoformat(), r[1], r[2], r[3]),
    "zero price": lambda r: (r[0], r[1], "PriceInUSD=0.00", r[3]),
}

good_rows = st.tuples(
    st.integers(min_value=0, max_value=3599),  # second of the hour
    st.sampled_from(["WW42LKF", "Jürgen", "u_1", "X-9"]),
    st.sampled_from(["0.99", "4.99", "19.99", "100"]),
)
rows = st.lists(
    st.tuples(good_rows, st.one_of(st.none(), st.sampled_from(sorted(BAD_KINDS)))),
    min_size=1,
    max_size=40,
)


@pytest.fixture(scope="module")
def conn(fresh_database, tmp_path_factory) -> Iterator[psycopg2.extensions.connection]:
    config = luigi.configuration.get_config()
    # Judge rows one by one here: a batch-level rejection is tested elsewhere.
    config.set("playstudio", "max_reject_ratio", "1.0")
    try:
        with fresh_database(tmp_path_factory.mktemp("home")):
            connection = connect()
            connection.autocommit = True
            yield connection
            connection.close()
    finally:
        config.remove_option("playstudio", "max_reject_ratio")


@settings(settings.get_profile("warehouse"))
@given(plan=rows)
def test_every_row_is_loaded_or_quarantined(conn, tmp_path_factory, plan):
    reset_warehouse(conn)
    source_rows, good, bad = [], {}, set()
    for index, ((second, user, price), bad_kind) in enumerate(plan):
        row = (
            HOUR + timedelta(seconds=second),
            user,
            f"PriceInUSD={price}",
            tx(index),
        )
        excel_row = index + 2
        if bad_kind is None:
            good[row[3]] = row
        else:
            row = BAD_KINDS[bad_kind](row)
            bad.add(excel_row)
        source_rows.append(row)
    path = write_workbook(tmp_path_factory.mktemp("src") / "w.xlsx", source_rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYSTUDIO_SOURCE", str(path))
        assert run([HourlyPipeline(hour=HOUR)])

    loads = table_rows(
        conn, "ops.interval_loads", ["sheet", "source_rows", "loaded_rows", "quarantined_rows"]
    )
    assert all(source == loaded + quarantined for _, source, loaded, quarantined in loads)
    purchases = [load for load in loads if load[0] == "Purchases"]
    with conn.cursor() as cursor:
        cursor.execute("select count(*) from ops.quarantine where interval_start is null")
        undated = cursor.fetchone()[0]
    assert sum(load[1] for load in purchases) + undated == len(source_rows)

    quarantined = {row for (row,) in table_rows(conn, "ops.quarantine", ["source_row"])}
    assert quarantined == bad
    silver = dict(table_rows(conn, "silver.silver_purchases", ["transaction_id", "revenue"]))
    assert set(silver) == set(good)
    with conn.cursor() as cursor:
        cursor.execute(
            "select coalesce(sum(amount_purchases_hourly), 0) from gold.aggregated_final_table"
        )
        assert cursor.fetchone()[0] == len(good)
