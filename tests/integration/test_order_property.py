"""Property: whatever order intervals run in, with whatever repeats, the result is the same;
and whether they run one by one (cron) or a day at a time in bulk (backfills), or a mix.

A repeat deletes the marker of one layer for that interval first, so the task really runs
again (a plain repeat would be a no-op by design).

The same holds for transactions that several export files share (exact and conflicting
copies): whatever order the files' intervals are loaded in, reloaded with other rows and run,
silver and gold end as one clean run over the final rows, and silver as the rule's reference
(tests/reference_model.first_copies).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from bronze_loads import (
    Copy,
    load_all,
    load_empty_hours,
    load_purchases,
    silver,
    without_exports,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference_model import first_copies
from source_rows import tx

from playstudio_luigi import (
    DayPipeline,
    FiveMinutePipeline,
    GoldAggregate,
    HourlyPipeline,
    SilverPurchases,
)
from playstudio_luigi.db.connection import connect
from playstudio_luigi.operations.backfill import build_hours
from playstudio_luigi.tasks.batch import day_tasks
from playstudio_luigi.testing import GOLD_COLUMNS, gold_rows, reset_warehouse, run, table_rows
from playstudio_luigi.testing.sample import SampleSpec, write_sample

pytestmark = pytest.mark.integration

START = datetime(2022, 4, 1, 22)
HOURS = [START + timedelta(hours=i) for i in range(3)]  # crosses midnight: two UTC days
INTERVALS = [h + timedelta(minutes=5 * i) for h in HOURS for i in range(12)]
FAMILIES = [
    "ExtractPurchases",
    "ValidatePurchases",
    "LoadBronzePurchases",
    "SilverPurchases",
    "ExtractSpins",
    "ValidateSpins",
    "LoadBronzeSpins",
    "SilverSpins",
    "GoldAggregate",
]
TABLES = {
    "bronze.bronze_purchases": ["interval_start", "source_row", "transaction_id", "revenue"],
    "bronze.bronze_spins_hourly": ["interval_start", "source_row", "total_spins"],
    "silver.silver_purchases": [
        "transaction_id",
        "event_time",
        "user_id",
        "revenue",
        "source_copies",
    ],
    "silver.silver_spins_hourly": ["app_hour", "user_id", "country", "total_spins"],
    "gold.aggregated_final_table": list(GOLD_COLUMNS),
}


def snapshot(connection) -> dict[str, list[tuple]]:
    return {table: table_rows(connection, table, columns) for table, columns in TABLES.items()}


@pytest.fixture(scope="module")
def setup(
    fresh_database, tmp_path_factory
) -> Iterator[tuple[psycopg2.extensions.connection, dict]]:
    home = tmp_path_factory.mktemp("home")
    source = write_sample(
        Path(home) / "source.xlsx",
        SampleSpec(purchases=150, seed=11, start=START, hours=3, users=8),
    ).path
    with fresh_database(home), pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYSTUDIO_SOURCE", str(source))
        assert run([HourlyPipeline(hour=h) for h in HOURS])
        connection = connect()
        connection.autocommit = True
        expected = snapshot(connection)
        assert expected["gold.aggregated_final_table"], "the sample must produce gold rows"
        yield connection, expected
        connection.close()


actions = st.lists(
    st.tuples(
        # an hour (HourlyPipeline), a 5-minute interval, or hours in bulk (DayPipeline)
        st.sampled_from(["hour", "interval", "bulk"]),
        st.integers(min_value=0, max_value=len(INTERVALS) - 1),
        st.one_of(st.none(), st.sampled_from(FAMILIES)),  # marker to delete first (a rerun)
    ),
    min_size=1,
    max_size=12,
)


@settings(settings.get_profile("warehouse"))
@given(plan=actions)
def test_any_order_with_repeats_gives_the_clean_result(setup, plan):
    connection, expected = setup
    reset_warehouse(connection)
    for kind, index, rerun_family in plan:
        moment = INTERVALS[index]
        hour = moment.replace(minute=0)
        if rerun_family is not None:
            key = hour if rerun_family.endswith(("Spins", "Aggregate")) else moment
            with connection.cursor() as cursor:
                cursor.execute(
                    "delete from ops.task_markers where task_family = %s and interval_start = %s",
                    (rerun_family, key),
                )
        if kind == "bulk":  # this hour and the next (if on the same day), set-based
            task = DayPipeline(day=hour.date(), from_hour=hour.hour, to_hour=min(24, hour.hour + 2))
        elif kind == "hour":
            task = HourlyPipeline(hour=hour)
        else:
            task = FiveMinutePipeline(interval=moment)
        assert run([task])
    assert run(day_tasks(HOURS))
    assert snapshot(connection) == expected


# Many files sharing transactions ---------------------------------------------------------

FEED_HOURS = [datetime(2022, 4, 1, 23), datetime(2022, 4, 2, 0)]  # across midnight
FEED_INTERVALS = [FEED_HOURS[0] + timedelta(minutes=m) for m in (0, 5, 55)] + [
    FEED_HOURS[1] + timedelta(minutes=m) for m in (0, 5)
]


def _copy(key: int, interval: int, second: int, user: str, revenue: str, path: str, row: int):
    return Copy(
        tx(key) if key % 2 else f" {tx(key).upper()}",  # ids compare trimmed, in any case
        FEED_INTERVALS[interval] + timedelta(seconds=second),
        user,
        revenue,
        path,
        row,
    )


copies = st.lists(
    st.builds(
        _copy,
        key=st.integers(0, 2),
        interval=st.integers(0, len(FEED_INTERVALS) - 1),
        second=st.integers(0, 1),  # ties, so that the file and then the row decide
        user=st.sampled_from(["U1", "U2", " U1"]),
        revenue=st.sampled_from(["PriceInUSD=1.00", "PriceInUSD=2.50", "PriceInUSD=1.00 "]),
        path=st.sampled_from(["exports/a.csv", "exports/b.parquet", "late/c.xlsx"]),
        row=st.integers(2, 30),
    ),
    min_size=2,
    max_size=16,
    unique_by=lambda c: (c.interval_start, c.source_row),  # bronze's key today
)

#: After each load: nothing, the interval's silver, its hour's gold, its hour in bulk, or
#: every hour's gold.
RUNS = ["none", "silver", "hour", "bulk", "all"]

# Files arrive in any order: each interval is loaded once with its final rows, some first
# with an earlier export of it (a part of them, or none), each load followed by some runs.
arrivals = st.tuples(
    st.permutations(range(len(FEED_INTERVALS))),
    st.lists(
        st.tuples(st.sampled_from([None, "part", "none"]), st.sampled_from(RUNS)),
        min_size=len(FEED_INTERVALS),
        max_size=len(FEED_INTERVALS),
    ),
    st.lists(st.sampled_from(RUNS), min_size=len(FEED_INTERVALS), max_size=len(FEED_INTERVALS)),
)

#: A transaction first exported in hour 00 (gold built), then an earlier copy arriving for
#: hour 23 of the day before: the row moves back a day, hour 00's gold must be rebuilt.
LATE_EARLIER_COPY = (
    [
        _copy(1, 3, 0, "U2", "PriceInUSD=2.50", "exports/b.parquet", 4),
        _copy(1, 1, 1, "U1", "PriceInUSD=1.00", "late/c.xlsx", 9),
        _copy(2, 4, 0, "U1", "PriceInUSD=1.00", "exports/a.csv", 3),
    ],
    ([3, 4, 0, 1, 2], [(None, "none")] * 5, ["none", "silver", "none", "none", "all"]),
)
#: Same id and time in two files: the file decides before the row.
FILE_BEFORE_ROW = (
    [
        _copy(0, 0, 1, "U1", "PriceInUSD=1.00", "late/c.xlsx", 2),
        _copy(0, 0, 1, "U2", "PriceInUSD=2.50", "exports/a.csv", 9),
    ],
    ([0, 1, 2, 3, 4], [(None, "none")] * 5, ["none"] * 5),
)


@pytest.fixture(scope="module")
def feed_database(fresh_database, tmp_path_factory) -> Iterator[psycopg2.extensions.connection]:
    home = Path(tmp_path_factory.mktemp("feed-home"))
    with fresh_database(home), without_exports(home / "no-exports"):
        connection = connect()
        connection.autocommit = True
        yield connection
        connection.close()


def _by_interval(rows: list[Copy]) -> dict[datetime, list[Copy]]:
    found: dict[datetime, list[Copy]] = {start: [] for start in FEED_INTERVALS}
    for row in rows:
        found[row.interval_start].append(row)
    return found


def _run_after_load(run_kind: str, start: datetime) -> None:
    hour = start.replace(minute=0)
    if run_kind == "silver":
        assert run([SilverPurchases(interval=start)])
    elif run_kind == "hour":
        assert run([GoldAggregate(hour=hour)])
    elif run_kind == "bulk":
        assert run([DayPipeline(day=hour.date(), from_hour=hour.hour, to_hour=hour.hour + 1)])
    elif run_kind == "all":
        assert run([GoldAggregate(hour=h) for h in FEED_HOURS])


@settings(settings.get_profile("warehouse"))
@example(*LATE_EARLIER_COPY)
@example(*FILE_BEFORE_ROW)
@given(final=copies, plan=arrivals)
def test_files_sharing_transactions_in_any_order_give_the_clean_result(feed_database, final, plan):
    connection = feed_database
    reset_warehouse(connection)
    load_all(final, FEED_HOURS)
    assert build_hours(FEED_HOURS)
    expected = {"silver": silver(connection), "gold": gold_rows(connection)}
    assert {row[0]: row for row in expected["silver"]} == first_copies(final)

    reset_warehouse(connection)
    load_empty_hours(FEED_HOURS)
    final_rows = _by_interval(final)
    order, earlier, after_final = plan
    for index in order:
        start = FEED_INTERVALS[index]
        variant, run_kind = earlier[index]
        if variant is not None:  # an earlier export of the interval first
            load_purchases(start, final_rows[start][::2] if variant == "part" else [])
            _run_after_load(run_kind, start)
        load_purchases(start, final_rows[start])
        _run_after_load(after_final[index], start)
    # Whatever the runs left stale (markers removed under them), the next backfill builds.
    assert build_hours(FEED_HOURS)
    assert {"silver": silver(connection), "gold": gold_rows(connection)} == expected
