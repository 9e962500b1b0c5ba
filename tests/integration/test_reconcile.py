"""Time and change: late rows, corrections, deletions, full refresh, open intervals, races."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime as dt
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import luigi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from source_rows import tx

from playstudio_luigi import HourlyPipeline, intervals
from playstudio_luigi.operations.invalidate import invalidate_range
from playstudio_luigi.operations.reconcile import reconcile
from playstudio_luigi.testing import (
    GOLD_COLUMNS,
    gold_rows,
    reset_warehouse,
    run,
    table_rows,
    write_workbook,
)
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

H22, H23 = dt(2022, 4, 1, 22), dt(2022, 4, 1, 23)


BASE = [
    (H22 + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1)),
    (H22 + timedelta(minutes=7), "U2", "PriceInUSD=1.99", tx(2)),
    (H23 + timedelta(minutes=3), "U1", "PriceInUSD=9.99", tx(3)),
]
SPINS = [(H22, "U1", "US", 5), (H23, "U1", "CA", 2)]


def load(path: Path, purchases, spins=SPINS) -> Path:
    return write_workbook(path, purchases, spins)


def markers(db) -> dict[tuple, object]:
    rows = table_rows(db, "ops.task_markers", ["task_family", "interval_start", "completed_at"])
    return {(family, start): at for family, start, at in rows}


def test_late_row_reaches_gold_and_nothing_else_is_rewritten(db, source):
    load(source, BASE)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    before = markers(db)
    # A new export: a purchase for 22:02 arrives after the hour was processed.
    load(source, [*BASE, (H22 + timedelta(minutes=2), "U1", "PriceInUSD=0.99", tx(4))])
    report = reconcile(H22, H22 + timedelta(hours=2))
    assert [str(c) for c in report.changes] == [
        "Purchases 2022-04-01 22:00: +1 added, ~0 changed, -0 removed"
    ]
    assert report.hours == [H22] and report.rebuilt
    rows = {(r[0], r[1]): r for r in gold_rows(db)}
    assert rows[(H22, "U1")][4:6] == (Decimal("5.98"), 2)
    # the day's total moved on every row of that user-day, the 23:00 row included
    assert rows[(H22, "U1")][7] == rows[(H23, "U1")][7] == Decimal("15.97")
    after = markers(db)
    rewritten = {key for key in after if after[key] != before.get(key)}
    assert rewritten == {
        ("ExtractPurchases", H22),
        ("ValidatePurchases", H22),
        ("LoadBronzePurchases", H22),
        ("SilverPurchases", H22),
        ("GoldAggregate", H22),
    }


def test_corrected_and_deleted_rows(db, source):
    load(source, BASE)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    corrected = [
        (H22 + timedelta(minutes=1), "U1", "PriceInUSD=2.99", tx(1)),  # revenue corrected
        BASE[2],  # tx(2) deleted from the export
    ]
    load(source, corrected)
    report = reconcile(H22, H22 + timedelta(hours=2))
    assert {(c.interval_start, c.added, c.changed, c.removed) for c in report.changes} == {
        (H22, 0, 1, 0),
        (H22 + timedelta(minutes=5), 0, 0, 1),
        (H23, 0, 0, 0),  # the row for 23:03 moved up one row in the file
    }
    # Equal to a clean rebuild on the final export.
    reconciled = gold_rows(db)
    silver = table_rows(db, "silver.silver_purchases", ["transaction_id", "revenue"])
    assert silver == [(tx(1), Decimal("2.99")), (tx(3), Decimal("9.99"))]
    reset_warehouse(db)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    assert gold_rows(db) == reconciled


def test_nothing_changed_nothing_rebuilt(db, source):
    load(source, BASE)
    assert run([HourlyPipeline(hour=H22)])
    before = markers(db)
    load(source, BASE)  # re-exported, same content: a new file, same slices
    report = reconcile(H22, H23)
    assert report.checked == 13 and report.changes == [] and report.hours == []
    assert markers(db) == before


def test_full_refresh_of_a_layer(db, source):
    load(source, BASE)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    expected = gold_rows(db)
    invalidate_range(H22, H23, layer="silver")
    left = {family for family, start in markers(db) if start < H23}
    assert "SilverPurchases" not in left and "GoldAggregate" not in left
    assert "LoadBronzePurchases" in left
    # Markers only: the rows stay until the rebuild replaces them (never emptier).
    assert gold_rows(db) == expected
    assert not HourlyPipeline(hour=H22).complete()
    assert run([HourlyPipeline(hour=H22)])
    assert gold_rows(db) == expected


def test_range_schedules_only_closed_intervals(db, source, monkeypatch):
    load(source, BASE)
    now = H22 + timedelta(minutes=30)
    monkeypatch.setattr(intervals, "utcnow", lambda: now)
    assert HourlyPipeline.bulk_complete([H22 - timedelta(hours=1), H22]) == [H22]
    task = luigi.tools.range.RangeHourly(
        of=HourlyPipeline, start=H22 - timedelta(hours=2), stop=H23, now=int(now.timestamp())
    )
    assert run([task])
    gold_hours = {start for family, start in markers(db) if family == "GoldAggregate"}
    assert gold_hours == {H22 - timedelta(hours=2), H22 - timedelta(hours=1)}


def test_two_concurrent_backfills_agree(warehouse, tmp_path):
    """Two cron runs of the same range at once, each with its own local scheduler."""
    cli = Path(sys.executable).parent / "playstudio-luigi"
    env = {**os.environ, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE)}
    args = [str(cli), "backfill", "--start", "2022-04-01T20", "--stop", "2022-04-02T01"]
    from playstudio_luigi.db.connection import connect

    snapshots = []
    for attempt in range(3):
        env["PLAYSTUDIO_HOME"] = str(tmp_path / f"home{attempt}")
        conn = connect()
        conn.autocommit = True
        reset_warehouse(conn)
        procs = [
            subprocess.Popen(
                [*args, "--workers", str(w)], env=env, stderr=subprocess.PIPE, text=True
            )
            for w in (1, 2)
        ]
        results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
        assert [code for code, _ in results] == [0, 0], (
            results[0][1][-2000:] + results[1][1][-2000:]
        )
        snapshots.append(
            {
                t: table_rows(conn, t, cols)
                for t, cols in {
                    "gold.aggregated_final_table": GOLD_COLUMNS,
                    "silver.silver_purchases": ["transaction_id", "revenue"],
                    "bronze.bronze_purchases": ["interval_start", "source_row"],
                }.items()
            }
        )
        conn.close()
    assert snapshots[0]["gold.aggregated_final_table"]
    assert snapshots[0] == snapshots[1] == snapshots[2]


# A random history of exports: appends, corrections, deletions; reconcile after each.
edits = st.lists(
    st.tuples(
        st.sampled_from(["append", "correct", "delete"]),
        st.integers(min_value=0, max_value=119),  # minute of the two hours
        st.sampled_from(["0.99", "4.99", "19.99"]),
    ),
    min_size=1,
    max_size=6,
)


@settings(settings.get_profile("warehouse"))
@given(history=edits)
def test_reconcile_after_any_history_equals_a_clean_run(db, source, history):
    reset_warehouse(db)
    rows = list(BASE)
    load(source, rows)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    for step, (kind, minute, price) in enumerate(history):
        if kind == "append":
            rows.append(
                (H22 + timedelta(minutes=minute), "U3", f"PriceInUSD={price}", tx(100 + step))
            )
        elif rows and kind == "correct":
            moment, user, _, ident = rows[minute % len(rows)]
            rows[minute % len(rows)] = (moment, user, f"PriceInUSD={price}", ident)
        elif rows:
            rows.pop(minute % len(rows))
        load(source, rows)
        assert reconcile(H22, H22 + timedelta(hours=2)).rebuilt
    reconciled = gold_rows(db)
    reset_warehouse(db)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    assert reconciled == gold_rows(db)


def test_reconcile_task_for_cron(db, source, monkeypatch):
    from playstudio_luigi import Reconcile
    from playstudio_luigi.operations import reconcile as reconcile_module

    load(source, BASE)
    assert run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])
    load(source, [*BASE, (H23 + timedelta(minutes=50), "U2", "PriceInUSD=19.99", tx(5))])
    monkeypatch.setattr(reconcile_module, "utcnow", lambda: dt(2022, 4, 2, 0, 10))
    assert run([Reconcile(hours_back=2)])
    rows = {(r[0], r[1]): r for r in gold_rows(db)}
    assert rows[(H23, "U2")][4:6] == (Decimal("19.99"), 1)
    assert rows[(H22, "U2")][7] == Decimal("21.98")  # the day's total, on the 22:00 row too
