"""A hostile export: every kind of bad row is quarantined with its reasons, every good row
reaches gold, and for every interval source rows = loaded + quarantined. A conflicting
duplicate is a valid row: it stays in bronze, silver keeps the first copy, a warning says so."""

from __future__ import annotations

from datetime import datetime as dt
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from source_rows import tx

from playstudio_luigi import HourlyPipeline
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.testing import PURCHASE_HEADER, SPIN_HEADER, run, table_rows, write_workbook

pytestmark = pytest.mark.integration

HOUR = dt(2022, 4, 1, 22)
CLEAN_PREFIX = 1500


def error_cell(sheet, row: int, column: int, code: str) -> None:
    cell = sheet.cell(row=row, column=column)
    cell.value, cell.data_type = code, "e"


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workbook = openpyxl.Workbook()
    purchases = workbook.active
    purchases.title = "Purchases"
    purchases.append(list(PURCHASE_HEADER))
    # 1,500 clean rows first (row 2..1501): readers that guess types from the top are fooled.
    for i in range(CLEAN_PREFIX):
        moment = HOUR + timedelta(seconds=i % 290)
        purchases.append([moment, f"U{i % 7}", "PriceInUSD=1.00", tx(i)])
    bad_and_odd = [
        # row 1502: numeric user id and transaction id after the clean prefix
        [HOUR + timedelta(minutes=1), 12345, "PriceInUSD=1.00", 7],
        # 1503: text in the date column
        ["2022-04-01 22:01:00", "U1", "PriceInUSD=1.00", tx(9001)],
        # 1504: a formula error in revenue (written below)
        [HOUR + timedelta(minutes=1), "U1", None, tx(9002)],
        # 1505: empty strings
        [HOUR + timedelta(minutes=1), "", "", tx(9003)],
        # 1506: SQL-looking transaction id, stored verbatim in quarantine
        [HOUR + timedelta(minutes=1), "U1", "PriceInUSD=1.00", "'); drop table x; --"],
        # 1507: valid: whitespace-padded ids, trimmed in silver
        [HOUR + timedelta(minutes=2), "  PADDED1 ", "PriceInUSD=2.00", f" {tx(9004)} "],
        # 1508: valid: non-ASCII and SQL-looking user ids load verbatim
        [HOUR + timedelta(minutes=2), "Jürgen_東京", "PriceInUSD=3.00", tx(9005)],
        [HOUR + timedelta(minutes=2), "Robert');DROP--", "PriceInUSD=4.00", tx(9006)],
        # 1510: wrong currency, zero, above the ceiling, three decimals
        [HOUR + timedelta(minutes=3), "U1", "PriceInEUR=1.00", tx(9007)],
        [HOUR + timedelta(minutes=3), "U1", "PriceInUSD=0", tx(9008)],
        [HOUR + timedelta(minutes=3), "U1", "PriceInUSD=99999", tx(9009)],
        [HOUR + timedelta(minutes=3), "U1", "PriceInUSD=1.999", tx(9010)],
        # 1514: an exact duplicate of row 2 (loaded, deduplicated), then a conflicting one
        # (loaded to bronze, left out of silver, reported by a warn check)
        [HOUR, "U0", "PriceInUSD=1.00", tx(0)],
        [HOUR + timedelta(minutes=7), "U9", "PriceInUSD=5.00", tx(0)],
        # 1516: a row without a readable date: no interval, quarantined once
        ["yesterday", "U1", "PriceInUSD=1.00", tx(9011)],
        # 1517: far outside the processed hour (another interval; not processed here)
        [dt(2099, 1, 1), "U1", "PriceInUSD=1.00", tx(9012)],
    ]
    for row in bad_and_odd:
        purchases.append(row)
    error_cell(purchases, 1504, 3, "#DIV/0!")

    spins = workbook.create_sheet("Spins Hourly")
    spins.append(list(SPIN_HEADER))
    spins.append([HOUR, "U1", "US", 10.5])  # 2
    spins.append([HOUR, "U1", "US", "lots"])  # 3: text in a numeric cell
    spins.append([HOUR + timedelta(minutes=30), "U2", "CA", 1])  # 4: not on the hour
    spins.append([HOUR, "U2", "Canada", 1])  # 5: not a two-letter code
    spins.append([HOUR, "U3", "CA", -2])  # 6: negative
    spins.append([HOUR, "Jürgen_東京", "DE", 2.5])  # 7: valid
    spins.append([None, None, None, None, None, None, None, "note"])  # 8: not data
    path = tmp_path / "hostile.xlsx"
    workbook.save(path)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


def test_hostile_workbook(db, hostile):
    assert run([HourlyPipeline(hour=HOUR)])
    quarantine = {
        (sheet, row): (start, reasons)
        for sheet, row, start, reasons in table_rows(
            db, "ops.quarantine", ["sheet", "source_row", "interval_start", "reasons"]
        )
    }
    i0, i5 = HOUR, HOUR + timedelta(minutes=5)
    assert quarantine == {
        ("Purchases", 1502): (i0, ["transaction_id '7' is not a UUID"]),
        ("Purchases", 1503): (
            None,
            ['date: expected an Excel datetime, found String("2022-04-01 22:01:00")'],
        ),
        ("Purchases", 1504): (i0, ["revenue: expected an Excel string, found Error(Div0)"]),
        ("Purchases", 1505): (i0, ["userId is missing", "revenue is missing"]),
        ("Purchases", 1506): (i0, ['transaction_id "\'); drop table x; --" is not a UUID']),
        ("Purchases", 1510): (
            i0,
            ["revenue 'PriceInEUR=1.00': currency 'EUR' is not accepted (USD)"],
        ),
        ("Purchases", 1511): (i0, ["revenue 'PriceInUSD=0' is not a positive amount"]),
        ("Purchases", 1512): (
            i0,
            ["revenue 'PriceInUSD=99999' is above the ceiling of 10000 USD"],
        ),
        ("Purchases", 1513): (
            i0,
            [
                "revenue 'PriceInUSD=1.999' is not of the form PriceIn<CUR>=<amount> "
                "with at most 2 decimals"
            ],
        ),
        ("Purchases", 1516): (
            None,
            ['date: expected an Excel datetime, found String("yesterday")'],
        ),
        ("Spins Hourly", 3): (HOUR, ["total_spins 'lots' is not a number"]),
        ("Spins Hourly", 4): (HOUR, ["date 2022-04-01 22:30:00 is not on the hour"]),
        ("Spins Hourly", 5): (HOUR, ["country 'Canada' is not a two-letter country code"]),
        ("Spins Hourly", 6): (HOUR, ["total_spins '-2' is negative"]),
    }

    # Conservation for every interval of the hour.
    loads = table_rows(
        db,
        "ops.interval_loads",
        ["interval_start", "source_rows", "loaded_rows", "quarantined_rows"],
    )
    assert len(loads) == 13
    assert all(source == loaded + quarantined for _, source, loaded, quarantined in loads)

    # Every good row reaches gold: the clean prefix, the padded, non-ASCII and SQL-looking ids.
    silver = dict(table_rows(db, "silver.silver_purchases", ["transaction_id", "user_id"]))
    assert silver[tx(9004)] == "PADDED1"
    assert silver[tx(9005)] == "Jürgen_東京"
    assert silver[tx(9006)] == "Robert');DROP--"
    good = CLEAN_PREFIX + 3
    assert len(silver) == good
    with db.cursor() as cursor:
        cursor.execute(
            "select sum(amount_purchases_hourly), sum(total_revenue_hourly)"
            " from gold.aggregated_final_table where app_hour = %s",
            (HOUR,),
        )
        assert cursor.fetchone() == (good, Decimal(CLEAN_PREFIX) + Decimal("9.00"))
        cursor.execute(
            "select country, total_spins_hourly from gold.aggregated_final_table"
            " where user_id = %s",
            ("Jürgen_東京",),
        )
        assert cursor.fetchone() == ("DE", 3)
        cursor.execute("select user_id from bronze.bronze_purchases where source_row = 1507")
        assert cursor.fetchone() == ("  PADDED1 ",), "bronze keeps the source value verbatim"

    # The conflicting duplicate: in bronze (its interval's), not in silver, reported.
    i5 = HOUR + timedelta(minutes=5)
    assert (
        table_rows(db, "bronze.bronze_purchases", ["interval_start", "source_row"]).count(
            (i5, 1515)
        )
        == 1
    )
    copy = table_rows(
        db, "silver.silver_purchases", ["transaction_id", "source_row", "source_copies"]
    )
    assert (tx(0), 2, 2) in copy  # row 2 and its exact copy 1514
    with db.cursor() as cursor:
        # Reported by whichever of the two intervals ran once both copies were in bronze.
        cursor.execute(
            "select severity, failing_rows, sample from ops.check_results"
            " where check_name = 'conflicting_duplicates' and status = 'fail'"
        )
        failed = cursor.fetchall()
    assert failed
    for severity, failing, sample in failed:
        assert (severity, failing) == ("warn", 1)
        assert (sample[0]["source_row"], sample[0]["winner_source_row"]) == (1515, 2)
        assert sample[0]["revenue"] == "PriceInUSD=5.00"
        assert sample[0]["winner_revenue"] == "PriceInUSD=1.00"


def test_undated_rows_are_quarantined_once_per_version(db, hostile):
    assert run([HourlyPipeline(hour=HOUR), HourlyPipeline(hour=HOUR + timedelta(hours=1))])
    with db.cursor() as cursor:
        cursor.execute("select source_row from ops.quarantine where interval_start is null")
        assert sorted(r[0] for r in cursor.fetchall()) == [1503, 1516]


def test_too_many_bad_rows_fail_the_batch_and_write_nothing(db, tmp_path, monkeypatch):
    from playstudio_luigi import ExtractPurchases, ValidatePurchases
    from playstudio_luigi.quality.checks import CheckFailedError
    from playstudio_luigi.testing import write_workbook

    rows = [(HOUR + timedelta(seconds=i), "U1", "PriceInUSD=1.00", tx(i)) for i in range(20)]
    rows += [(HOUR + timedelta(seconds=30 + i), "U1", "1.00", tx(100 + i)) for i in range(10)]
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(write_workbook(tmp_path / "w.xlsx", rows)))
    assert run([ExtractPurchases(interval=HOUR)])
    with pytest.raises(CheckFailedError, match=r"10 of 30 rows \(33%\).*max_reject_ratio = 0\.2"):
        ValidatePurchases(interval=HOUR).run()
    assert not run([HourlyPipeline(hour=HOUR)])
    assert table_rows(db, "ops.quarantine", ["source_row"]) == []
    assert table_rows(db, "bronze.bronze_purchases", ["source_row"]) == []
    with db.cursor() as cursor:
        cursor.execute(
            "select distinct check_name, severity, status, failing_rows from ops.check_results"
            " where layer = 'ingest' and task_family = 'ValidatePurchases'"
            " and interval_start = %s",  # the hour's other intervals and its spins passed
            (HOUR,),
        )
        assert cursor.fetchall() == [("reject_ratio", "error", "fail", 10)]


@pytest.mark.parametrize("padding", ["\u00a0", "\t", "\u2003", "\n"], ids=repr)
def test_revenue_padded_with_any_whitespace_loads_with_its_amount(
    db, tmp_path, monkeypatch, padding
):
    # Validation strips Unicode whitespace before it checks the format; silver must read the
    # same amount from bronze's untouched text, or the row it accepted fails the day.
    source = write_workbook(
        tmp_path / "padded.xlsx",
        [
            (HOUR, "U1", f"PriceInUSD=1.25{padding}", tx(1)),
            (HOUR + timedelta(minutes=1), "U2", f"{padding}PriceInUSD=2.50", tx(2)),
        ],
        [(HOUR, "U1", "US", 1)],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
    assert run([HourlyPipeline(hour=HOUR)])
    revenue = table_rows(db, "silver.silver_purchases", ["transaction_id", "revenue"])
    assert revenue == [(tx(1), Decimal("1.25")), (tx(2), Decimal("2.50"))]


def test_ids_padded_with_a_no_break_space_are_the_ids_validation_accepted(
    db, tmp_path, monkeypatch
):
    source = write_workbook(
        tmp_path / "padded-ids.xlsx",
        [
            (HOUR, "U1", "PriceInUSD=1.00", tx(1)),
            (HOUR + timedelta(minutes=1), "U1\u00a0", "PriceInUSD=2.00", f"{tx(2)}\u00a0"),
        ],
        [(HOUR, "U1", "US", 1)],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
    assert run([HourlyPipeline(hour=HOUR)])
    purchases = table_rows(db, "silver.silver_purchases", ["transaction_id", "user_id"])
    assert purchases == [(tx(1), "U1"), (tx(2), "U1")]


def test_migration_0009_unmarks_what_was_built_from_rows_it_reads_differently(
    db, tmp_path, monkeypatch
):
    padded_at = HOUR + timedelta(minutes=1)
    source = write_workbook(
        tmp_path / "padded-ids.xlsx",
        [
            (HOUR, "U1", "PriceInUSD=1.00", tx(1)),
            (padded_at, "U1\u00a0", "PriceInUSD=2.00", tx(2)),
            (HOUR + timedelta(hours=1), "U2", "PriceInUSD=3.00", tx(3)),
        ],
        [(HOUR, "U1", "US", 1), (HOUR + timedelta(hours=1), "U2\u2003", "CA", 2)],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
    hours = [HOUR, HOUR + timedelta(hours=1)]
    assert run([HourlyPipeline(hour=hour) for hour in hours])
    before = table_rows(db, "ops.task_markers", ["task_family", "interval_start"])
    with db.cursor() as cursor:  # the warehouse as release 0008 left it, rows as they are
        cursor.execute("delete from ops.schema_migrations where version >= 9")
    db_connection.reset()  # forget that this process saw the schema current
    db_connection.connect().close()  # migrates
    after = table_rows(db, "ops.task_markers", ["task_family", "interval_start"])
    assert set(before) - set(after) == {
        ("SilverPurchases", padded_at.replace(minute=0)),  # the padded user's interval
        ("GoldAggregate", HOUR),
        ("SilverSpins", HOUR + timedelta(hours=1)),  # the padded spins user
        ("GoldAggregate", HOUR + timedelta(hours=1)),
    }
    assert run([HourlyPipeline(hour=hour) for hour in hours])  # rebuilds exactly those
    assert table_rows(db, "ops.task_markers", ["task_family", "interval_start"]) == before
