"""Silver purchases' first load is one plain insert (``models.insert_new``); a key already in
silver, or rows already filed under the intervals, fall back to the staged by-key changes, and
either way silver holds the first copy of every transaction over all of bronze."""

from __future__ import annotations

from datetime import datetime as dt
from datetime import timedelta

import pytest
from bronze_loads import Copy, load_all, load_purchases, marker_of, silver, without_exports
from reference_model import first_copies
from source_rows import tx

from playstudio_luigi import GoldAggregate, SilverPurchases
from playstudio_luigi.db import models
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import five_minute_starts
from playstudio_luigi.testing import run, table_rows

pytestmark = pytest.mark.integration

H22 = dt(2022, 4, 1, 22)
X, Y, Z = (tx(i) for i in (1, 2, 3))
MODEL = models.SILVER_PURCHASES


@pytest.fixture(autouse=True)
def _bronze_without_exports(tmp_path):
    with without_exports(tmp_path / "no-exports"):
        yield


def copy(seconds: int, key: str, *, path="a.csv", row=2, user="U1", revenue="PriceInUSD=1.00"):
    return Copy(key, H22 + timedelta(seconds=seconds), user, revenue, path, row)


def by_id(db) -> dict[str, tuple]:
    return {row[0]: row for row in silver(db)}


def loaded_at(db) -> dict[str, object]:
    return dict(table_rows(db, "silver.silver_purchases", ["transaction_id", "loaded_at"]))


def test_a_first_load_is_one_insert_with_the_first_copies(db):
    copies = [
        copy(5, X),
        copy(5, X, path="b.csv", row=7),  # an exact copy: counted, not a row
        copy(3, X, path="c.csv", row=1, revenue="PriceInUSD=9.00"),  # earlier: the winner
        copy(400, Y, row=3),  # another interval
        copy(401, Z, row=4, user="U2"),
    ]
    load_all(copies, [H22])
    starts = five_minute_starts(H22)
    with transaction() as connection, connection.cursor() as cursor:
        changes = models.insert_new(cursor, MODEL, starts)
    assert changes == models.Changes(
        inserted=3, intervals=frozenset({H22, H22 + timedelta(minutes=5)})
    )
    assert by_id(db) == first_copies(copies)


def test_a_key_already_in_silver_falls_back_to_the_staged_changes(db):
    """A later file's copy of a loaded transaction, in another interval: the insert clashes on
    X, writes nothing (not even the new Y), and the run stages and applies its changes."""
    first = copy(5, X)
    load_all([first], [H22])
    assert run([SilverPurchases(interval=H22)])
    before = loaded_at(db)

    later = [copy(400, X, path="b.csv", row=9, revenue="PriceInUSD=2.00"), copy(401, Y, row=3)]
    interval = later[0].interval_start
    load_purchases(interval, later)
    with transaction() as connection, connection.cursor() as cursor:
        assert models.insert_new(cursor, MODEL, [interval]) is None
        cursor.execute("select count(*) from silver.silver_purchases")
        assert cursor.fetchone() == (1,), "the clashing insert left nothing behind"
    assert run([SilverPurchases(interval=interval)])
    assert by_id(db) == first_copies([first, *later])
    assert by_id(db)[X][3] == H22  # X stays filed under the first copy's interval
    assert loaded_at(db)[X] == before[X], "X's row is unchanged, so untouched"


def test_a_correction_moves_an_existing_key_through_the_fallback(db):
    """An earlier copy of X arrives in an interval never built: nothing is filed there, the
    insert clashes on X, and the staged changes move X's row there (the interval it left
    loses its gold marker)."""
    late = copy(400, X, user="U2", revenue="PriceInUSD=7.00")
    load_all([late], [H22])
    assert run([GoldAggregate(hour=H22)])
    early = copy(60, X, path="fix.csv", row=2)
    load_purchases(early.interval_start, [early])
    assert run([SilverPurchases(interval=early.interval_start)])
    assert by_id(db) == first_copies([early, late])
    assert by_id(db)[X][3] == early.interval_start
    assert marker_of(db, "GoldAggregate", H22) is None  # stale: rebuilt by the next run
    assert run([GoldAggregate(hour=H22)])
    with db.cursor() as cursor:
        cursor.execute("select user_id, total_revenue_hourly from gold.aggregated_final_table")
        assert [(user, str(revenue)) for user, revenue in cursor.fetchall()] == [("U1", "1.00")]


def test_a_rerun_of_built_intervals_stages_and_writes_nothing(db):
    copies = [copy(5, X), copy(400, Y, row=3)]
    load_all(copies, [H22])
    assert run([GoldAggregate(hour=H22)])
    before, written = by_id(db), loaded_at(db)
    starts = five_minute_starts(H22)
    with transaction() as connection, connection.cursor() as cursor:
        assert models.insert_new(cursor, MODEL, starts) is None  # rows are filed there
    with db.cursor() as cursor:
        cursor.execute("delete from ops.task_markers where task_family = 'SilverPurchases'")
    assert run([SilverPurchases(interval=start) for start in starts])
    assert by_id(db) == before
    assert loaded_at(db) == written, "equal rows are left alone"


def test_copies_are_found_through_the_hash_index_on_the_id(db):
    # many ids in bronze, so that a scan would be the planner's choice without the index
    load_all([copy(i % 290, tx(100 + i), row=2 + i) for i in range(2000)], [H22])
    with db.cursor() as cursor:
        cursor.execute("analyze bronze.bronze_purchases")
        cursor.execute(
            "select indexdef from pg_indexes where indexname = 'bronze_purchases_transaction_idx'"
        )
        assert "USING hash (lower(ops.trimmed(transaction_id)))" in cursor.fetchone()[0]
        model = render("silver/silver_purchases.sql")
        cursor.execute(f"explain {model}", MODEL.bound([H22], {}))
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Index Scan using bronze_purchases_transaction_idx" in plan, plan
