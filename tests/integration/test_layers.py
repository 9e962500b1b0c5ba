"""Each layer on a tiny hand-made workbook, against rows written out by hand."""

from __future__ import annotations

from datetime import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from source_rows import tx

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline, testing
from playstudio_luigi.testing import run, table_rows, write_workbook

pytestmark = pytest.mark.integration

T1, T2, T3, T4, T5, T6 = (tx(i) for i in range(1, 7))

PURCHASES = [
    (dt(2022, 4, 1, 22, 3, 5), "U1", "PriceInUSD=4.99", T1),  # row 2
    (dt(2022, 4, 1, 22, 3, 5), "U1", "PriceInUSD=4.99", T1),  # row 3: exact duplicate
    (dt(2022, 4, 1, 22, 4, 59), "U2", "PriceInUSD=1.99", T2),  # row 4: last second of 22:00
    (dt(2022, 4, 1, 22, 5, 0), "U2", "PriceInUSD=0.99", T3),  # row 5: first second of 22:05
    (dt(2022, 4, 1, 22, 59, 59), "U1", "PriceInUSD=9.99", T4),  # row 6
    (dt(2022, 4, 1, 22, 10, 0), "U4", "PriceInEUR=1.00", T5),  # row 7: not USD
    (dt(2022, 4, 1, 23, 0, 0), "U1", "PriceInUSD=19.99", T6),  # row 8: next hour, same day
]
SPINS = [
    (dt(2022, 4, 1, 22), "U1", "US", 10.5),  # row 2
    (dt(2022, 4, 1, 22), "U1", "CA", 3),  # row 3
    (dt(2022, 4, 1, 22), "U1", "US", 1, None, None, None, "note by BI"),  # row 4: same key
    (dt(2022, 4, 1, 22), "U3", "CA", 2.5),  # row 5
    (dt(2022, 4, 1, 22), "U5", "GB", 4),  # row 6
    (dt(2022, 4, 1, 22), "U5", "DE", 4),  # row 7: tie with GB
    (dt(2022, 4, 1, 23), "U1", "CA", 7),  # row 8
]


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_workbook(tmp_path / "export.xlsx", PURCHASES, SPINS)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


def test_bronze_and_quarantine(db, source):
    assert run([FiveMinutePipeline(interval=dt(2022, 4, 1, 22, m)) for m in range(0, 60, 5)])
    bronze = table_rows(
        db, "bronze.bronze_purchases", ["interval_start", "source_row", "transaction_id", "revenue"]
    )
    assert bronze == [
        (dt(2022, 4, 1, 22, 0), 2, T1, "PriceInUSD=4.99"),
        (dt(2022, 4, 1, 22, 0), 3, T1, "PriceInUSD=4.99"),
        (dt(2022, 4, 1, 22, 0), 4, T2, "PriceInUSD=1.99"),
        (dt(2022, 4, 1, 22, 5), 5, T3, "PriceInUSD=0.99"),
        (dt(2022, 4, 1, 22, 55), 6, T4, "PriceInUSD=9.99"),
    ]
    quarantine = table_rows(
        db, "ops.quarantine", ["sheet", "interval_start", "source_row", "raw_values", "reasons"]
    )
    assert quarantine == [
        (
            "Purchases",
            dt(2022, 4, 1, 22, 10),
            7,
            {
                "date": "2022-04-01 22:10:00",
                "userId": "U4",
                "revenue": "PriceInEUR=1.00",
                "transaction_id": T5,
            },
            ["revenue 'PriceInEUR=1.00': currency 'EUR' is not accepted (USD)"],
        )
    ]


def test_silver(db, source):
    assert run([HourlyPipeline(hour=dt(2022, 4, 1, 22))])
    silver = table_rows(
        db,
        "silver.silver_purchases",
        ["transaction_id", "event_time", "app_hour", "user_id", "revenue", "source_copies"],
    )
    assert silver == [
        (T1, dt(2022, 4, 1, 22, 3, 5), dt(2022, 4, 1, 22), "U1", D("4.99"), 2),
        (T2, dt(2022, 4, 1, 22, 4, 59), dt(2022, 4, 1, 22), "U2", D("1.99"), 1),
        (T3, dt(2022, 4, 1, 22, 5, 0), dt(2022, 4, 1, 22), "U2", D("0.99"), 1),
        (T4, dt(2022, 4, 1, 22, 59, 59), dt(2022, 4, 1, 22), "U1", D("9.99"), 1),
    ]
    spins = table_rows(
        db, "silver.silver_spins_hourly", ["app_hour", "user_id", "country", "total_spins"]
    )
    assert spins == [
        (dt(2022, 4, 1, 22), "U1", "CA", D("3")),
        (dt(2022, 4, 1, 22), "U1", "US", D("11.5")),
        (dt(2022, 4, 1, 22), "U3", "CA", D("2.5")),
        (dt(2022, 4, 1, 22), "U5", "DE", D("4")),
        (dt(2022, 4, 1, 22), "U5", "GB", D("4")),
    ]


GOLD_COLUMNS = list(testing.GOLD_COLUMNS)


def test_gold_rules_and_daily_refresh(db, source):
    h22, h23 = dt(2022, 4, 1, 22), dt(2022, 4, 1, 23)
    assert run([HourlyPipeline(hour=h22)])
    gold = table_rows(db, "gold.aggregated_final_table", GOLD_COLUMNS)
    assert gold == [
        # U1: US has 11.5 spins vs CA 3; 14.5 spins round half up to 15
        (h22, "U1", "US", 15, D("14.98"), 2, D("7.49"), D("14.98")),
        # U2 bought but did not spin
        (h22, "U2", "UNKNOWN", 0, D("2.98"), 2, D("1.49"), D("2.98")),
        # U3 spun 2.5 -> 3, bought nothing: average 0
        (h22, "U3", "CA", 3, D("0.00"), 0, D("0"), D("0.00")),
        # U5: tie between GB and DE goes to DE (alphabetical)
        (h22, "U5", "DE", 8, D("0.00"), 0, D("0"), D("0.00")),
    ]

    # Loading the next hour of the same day refreshes U1's daily revenue on the 22:00 row too.
    assert run([HourlyPipeline(hour=h23)])
    gold = table_rows(db, "gold.aggregated_final_table", GOLD_COLUMNS)
    assert gold == [
        (h22, "U1", "US", 15, D("14.98"), 2, D("7.49"), D("34.97")),
        (h22, "U2", "UNKNOWN", 0, D("2.98"), 2, D("1.49"), D("2.98")),
        (h22, "U3", "CA", 3, D("0.00"), 0, D("0"), D("0.00")),
        (h22, "U5", "DE", 8, D("0.00"), 0, D("0"), D("0.00")),
        (h23, "U1", "CA", 7, D("19.99"), 1, D("19.99"), D("34.97")),
    ]


def test_conservation_is_recorded_per_interval(db, source):
    assert run([HourlyPipeline(hour=dt(2022, 4, 1, 22))])
    loads = table_rows(
        db,
        "ops.interval_loads",
        [
            "sheet",
            "interval_start",
            "source_rows",
            "loaded_rows",
            "quarantined_rows",
            "distinct_rows",
        ],
    )
    assert len(loads) == 13  # twelve 5-minute intervals of purchases and one hour of spins
    assert all(source == loaded + quarantined for _, _, source, loaded, quarantined, _ in loads)
    by_interval = {(sheet, start): rest for sheet, start, *rest in loads}
    # rows 2 and 3 are exact duplicates: loaded, then one distinct purchase
    assert by_interval[("Purchases", dt(2022, 4, 1, 22, 0))] == [3, 3, 0, 2]
    assert by_interval[("Purchases", dt(2022, 4, 1, 22, 10))] == [1, 0, 1, 0]
    assert by_interval[("Purchases", dt(2022, 4, 1, 22, 15))] == [0, 0, 0, 0]
    # six spin rows of 22:00, two of them with the same key (U1, US)
    assert by_interval[("Spins Hourly", dt(2022, 4, 1, 22))] == [6, 6, 0, 5]


LAYER_TABLES = {
    "staging.extract_purchases": ["interval_start", "source_row", "transaction_id"],
    "bronze.bronze_purchases": ["interval_start", "source_row", "transaction_id"],
    "ops.quarantine": ["interval_start", "source_row", "reasons"],
    "silver.silver_purchases": ["transaction_id", "revenue", "source_copies"],
    "silver.silver_spins_hourly": ["app_hour", "user_id", "country", "total_spins"],
    "gold.aggregated_final_table": GOLD_COLUMNS,
}


def test_rerunning_an_interval_replaces_its_rows(db, source):
    hour = dt(2022, 4, 1, 22)
    assert run([HourlyPipeline(hour=hour)])
    before = {t: table_rows(db, t, c) for t, c in LAYER_TABLES.items()}
    assert run([HourlyPipeline(hour=hour)])  # complete: nothing runs
    # Force every task of the hour to run again, as after a crash before commit or a rerun.
    with db.cursor() as cursor:
        cursor.execute("delete from ops.task_markers")
    assert run([HourlyPipeline(hour=hour)])
    assert {t: table_rows(db, t, c) for t, c in LAYER_TABLES.items()} == before


def test_source_version_is_parsed_once_per_sheet(db, source, monkeypatch):
    from playstudio_luigi.source import versions

    versions._load_sheet.cache_clear()
    calls = []
    real = versions.read_export
    monkeypatch.setattr(
        versions,
        "read_export",
        lambda path, layout, data: calls.append(layout.name) or real(path, layout, data),
    )
    assert run([HourlyPipeline(hour=dt(2022, 4, 1, 22)), HourlyPipeline(hour=dt(2022, 4, 1, 23))])
    # 24 purchase intervals and 2 spin hours, but one parse per sheet of this version.
    assert sorted(calls) == ["Purchases", "Spins Hourly"]

    # Another process (cold in-memory cache) reuses the parsed version on disk.
    versions._load_sheet.cache_clear()
    with db.cursor() as cursor:
        cursor.execute("delete from ops.task_markers")
    assert run([HourlyPipeline(hour=dt(2022, 4, 1, 22))])
    assert sorted(calls) == ["Purchases", "Spins Hourly"]


def test_bulk_complete_answers_for_a_range(db, source):
    import functools

    from playstudio_luigi import FiveMinutePipeline as Five

    h22, h23 = dt(2022, 4, 1, 22), dt(2022, 4, 1, 23)
    assert run([HourlyPipeline(hour=h22)])
    hours = [dt(2022, 4, 1, 21), h22, h23]
    # Range tools pass functools.partial(task_class, **of_params) as the class.
    assert HourlyPipeline.bulk_complete.__func__(functools.partial(HourlyPipeline), hours) == [h22]
    intervals = [dt(2022, 4, 1, 21, 55), dt(2022, 4, 1, 22, 0), dt(2022, 4, 1, 22, 55)]
    assert Five.bulk_complete(intervals) == intervals[1:]
    with db.cursor() as cursor:
        cursor.execute("delete from ops.task_markers where task_family = 'GoldAggregate'")
    assert HourlyPipeline.bulk_complete(hours) == []


def test_gold_waits_for_silver_loads_of_its_day(db, source, warehouse):
    """No silver load of a day may commit between gold's daily refresh and its checks."""
    import threading
    import time

    import psycopg2

    from playstudio_luigi import GoldAggregate
    from playstudio_luigi.db.locks import lock_day

    hour = dt(2022, 4, 1, 22)
    assert run([HourlyPipeline(hour=hour)])
    with db.cursor() as cursor:
        cursor.execute("delete from ops.task_markers where task_family = 'GoldAggregate'")
    silver_load = psycopg2.connect(warehouse)  # stands for a silver task mid-transaction
    with silver_load.cursor() as cursor:
        lock_day(cursor, dt(2022, 4, 1), shared=True)
        gold = threading.Thread(target=GoldAggregate(hour=hour).run)
        gold.start()
        time.sleep(1.5)
        assert gold.is_alive(), "gold did not wait for the day's silver load"
        with db.cursor() as probe:
            probe.execute(
                "select count(*) from pg_stat_activity"
                " where wait_event_type = 'Lock' and wait_event = 'advisory'"
            )
            assert probe.fetchone()[0] == 1
    silver_load.commit()
    gold.join(timeout=30)
    assert not gold.is_alive()
    silver_load.close()
    with db.cursor() as cursor:
        cursor.execute("select count(*) from ops.task_markers where task_family = 'GoldAggregate'")
        assert cursor.fetchone()[0] == 1


def test_marker_reads_survive_a_dropped_connection(db, source):
    from playstudio_luigi.db.connection import reader

    assert run([FiveMinutePipeline(interval=dt(2022, 4, 1, 22))])
    pid = reader().get_backend_pid()
    with db.cursor() as cursor:
        cursor.execute("select pg_terminate_backend(%s)", (pid,))  # as a server restart would
    assert FiveMinutePipeline(interval=dt(2022, 4, 1, 22)).complete()
    assert reader().get_backend_pid() != pid
