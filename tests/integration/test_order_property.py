"""Property: whatever order intervals run in, with whatever repeats, the result is the same;
and whether they run one by one (cron) or a day at a time in bulk (backfills), or a mix.

A repeat deletes the marker of one layer for that interval first, so the task really runs
again (a plain repeat would be a no-op by design).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playstudio_luigi import DayPipeline, FiveMinutePipeline, HourlyPipeline
from playstudio_luigi.db.connection import connect
from playstudio_luigi.tasks.batch import day_tasks
from playstudio_luigi.testing import GOLD_COLUMNS, reset_warehouse, run, table_rows
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
