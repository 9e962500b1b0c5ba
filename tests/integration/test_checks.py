"""Each SQL check passes on clean data and fails when its rule is broken; severities behave."""

from __future__ import annotations

from datetime import datetime as dt
from datetime import timedelta
from pathlib import Path

import pytest
from source_rows import tx

from playstudio_luigi import HourlyPipeline
from playstudio_luigi.quality import checks
from playstudio_luigi.quality.checks import CHECKS, INGEST_CHECKS, Check, run_checks
from playstudio_luigi.testing import GOLD_COLUMNS, run, table_rows, write_workbook

pytestmark = pytest.mark.integration

T1, T2 = (tx(i) for i in (1, 2))
HOUR, DAY = dt(2022, 4, 1, 22), dt(2022, 4, 1)
INTERVAL = dt(2022, 4, 1, 22, 0)
PARAMS = {
    "silver_purchases": {"starts": [INTERVAL]},
    "silver_spins_hourly": {"hours": [HOUR]},
    "gold": {"hours": [HOUR], "days_from": DAY, "days_to": DAY + timedelta(days=1)},
}

# SQL that breaks exactly the rule of each check (constraints dropped where the schema itself
# already forbids the bad state: the check is the second line of defence).
BREAKERS = {
    "silver_purchases.not_null": [
        "alter table silver.silver_purchases alter column user_id drop not null",
        f"update silver.silver_purchases set user_id = null where transaction_id = '{T1}'",
    ],
    "silver_purchases.unique_transaction_id": [
        "alter table silver.silver_purchases drop constraint silver_purchases_pkey",
        "insert into silver.silver_purchases select * from silver.silver_purchases",
    ],
    "silver_purchases.revenue_positive": [
        f"update silver.silver_purchases set revenue = 0 where transaction_id = '{T1}'"
    ],
    "silver_purchases.in_interval": [
        f"update silver.silver_purchases set event_time = '2022-04-01 22:07'"
        f" where transaction_id = '{T1}'"
    ],
    "silver_purchases.reconciles_with_bronze": [
        f"delete from silver.silver_purchases where transaction_id = '{T1}'"
    ],
    "silver_purchases.conflicting_duplicates": [
        # a later copy of T1 in another file, with another revenue (a warning, not an error)
        "insert into bronze.bronze_purchases (interval_start, event_time, user_id, revenue,"
        " transaction_id, source_path, source_sha256, source_sheet, source_row, extracted_at)"
        " select interval_start, event_time + interval '1 second', user_id, 'PriceInUSD=9.99',"
        " transaction_id, 'other.csv', source_sha256, source_sheet, 99, extracted_at"
        f" from bronze.bronze_purchases where transaction_id = '{T1}'"
    ],
    "silver_spins_hourly.unique_key": [
        "alter table silver.silver_spins_hourly drop constraint silver_spins_hourly_pkey",
        "insert into silver.silver_spins_hourly select * from silver.silver_spins_hourly",
    ],
    "silver_spins_hourly.spins_non_negative": [
        "update silver.silver_spins_hourly set total_spins = -1 where user_id = 'U1'"
    ],
    "silver_spins_hourly.country_accepted": [
        "update silver.silver_spins_hourly set country = 'usa' where user_id = 'U3'"
    ],
    "silver_spins_hourly.reconciles_with_bronze": [
        "update silver.silver_spins_hourly set total_spins = total_spins + 1 where user_id = 'U1'"
    ],
    "gold.unique_key": [
        "alter table gold.aggregated_final_table drop constraint aggregated_final_table_pkey",
        "insert into gold.aggregated_final_table select * from gold.aggregated_final_table",
    ],
    "gold.not_null": [
        "alter table gold.aggregated_final_table alter column country drop not null",
        "update gold.aggregated_final_table set country = null where user_id = 'U1'",
    ],
    "gold.country_accepted": [
        "update gold.aggregated_final_table set country = 'Narnia' where user_id = 'U1'"
    ],
    "gold.non_negative": [
        "update gold.aggregated_final_table set total_spins_hourly = -3 where user_id = 'U1'"
    ],
    "gold.daily_at_least_hourly": [
        "update gold.aggregated_final_table set total_revenue_per_user_daily = 0.01"
        " where user_id = 'U1'"
    ],
    "gold.revenue_equals_avg_times_count": [
        "update gold.aggregated_final_table set avg_revenue_per_purchase_hourly = 1"
        " where user_id = 'U1'"
    ],
    "gold.purchases_match_silver": [
        "update gold.aggregated_final_table set amount_purchases_hourly = 5 where user_id = 'U1'"
    ],
    "gold.spins_match_silver": [
        "update gold.aggregated_final_table set total_spins_hourly = 99 where user_id = 'U1'"
    ],
    "gold.daily_matches_silver": [
        "update gold.aggregated_final_table set total_revenue_per_user_daily = 500"
        " where user_id = 'U1'"
    ],
}


def test_every_check_has_a_breaker():
    assert set(BREAKERS) == {check.qualified_name for check in CHECKS}


@pytest.fixture
def loaded(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = write_workbook(
        tmp_path / "export.xlsx",
        purchases=[
            (dt(2022, 4, 1, 22, 1), "U1", "PriceInUSD=4.99", T1),
            (dt(2022, 4, 1, 22, 2), "U2", "PriceInUSD=1.99", T2),
        ],
        spins=[(HOUR, "U1", "US", 10.5), (HOUR, "U1", "CA", 3), (HOUR, "U3", "CA", 2)],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(source))
    assert run([HourlyPipeline(hour=HOUR)])
    return db


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.qualified_name)
def test_check_passes_on_clean_data_and_fails_when_broken(loaded, check: Check):
    with loaded.cursor() as cursor:
        before = {r.check.name: r for r in run_checks(cursor, check.layer, PARAMS[check.layer])}
        assert before[check.name].failing_rows == 0, before[check.name].describe()
        for statement in BREAKERS[check.qualified_name]:
            cursor.execute(statement)
        after = {r.check.name: r for r in run_checks(cursor, check.layer, PARAMS[check.layer])}
    assert after[check.name].failed, f"{check.qualified_name} did not notice the breakage"
    assert after[check.name].sample, "a failing check keeps a sample of the failing rows"


def test_all_checks_pass_and_are_recorded_by_the_pipeline(loaded):
    """Ingest checks too: the data docs showed them "not run" after clean loads (issue 16)."""
    results = table_rows(loaded, "ops.check_results", ["layer", "check_name", "status"])
    assert {(layer, name) for layer, name, _ in results} == {
        (check.layer, check.name) for check in (*CHECKS, *INGEST_CHECKS.values())
    }
    assert {status for *_, status in results} == {"pass"}


@pytest.fixture
def failing_gold_check(monkeypatch: pytest.MonkeyPatch):
    """Add a gold check that always fails, with the given severity."""

    def install(severity: str) -> None:
        check = Check("gold", "always_fails", severity, "fails", sql="select 1 as broken_rule")
        monkeypatch.setattr(checks, "CHECKS", (*CHECKS, check))

    return install


def test_error_check_rolls_back_the_task(db, loaded, failing_gold_check):
    failing_gold_check("error")
    next_hour = dt(2022, 4, 1, 23)
    before = table_rows(db, "gold.aggregated_final_table", GOLD_COLUMNS)
    assert not run([HourlyPipeline(hour=next_hour)])
    assert table_rows(db, "gold.aggregated_final_table", GOLD_COLUMNS) == before
    with db.cursor() as cursor:
        cursor.execute(
            "select count(*) from ops.task_markers where task_family = 'GoldAggregate'"
            " and interval_start = %s",
            (next_hour,),
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "select severity, status, failing_rows from ops.check_results"
            " where check_name = 'always_fails' and interval_start = %s",
            (next_hour,),
        )
        assert cursor.fetchall() == [("error", "fail", 1)]


def test_warn_check_records_and_goes_on(db, loaded, failing_gold_check):
    failing_gold_check("warn")
    next_hour = dt(2022, 4, 1, 23)
    assert run([HourlyPipeline(hour=next_hour)])
    with db.cursor() as cursor:
        cursor.execute(
            "select severity, status, failing_rows, sample from ops.check_results"
            " where check_name = 'always_fails' and interval_start = %s",
            (next_hour,),
        )
        assert cursor.fetchall() == [("warn", "fail", 1, [{"broken_rule": 1}])]
        cursor.execute(
            "select count(*) from ops.task_markers where task_family = 'GoldAggregate'"
            " and interval_start = %s",
            (next_hour,),
        )
        assert cursor.fetchone()[0] == 1


def test_checks_command_reports_and_exits_non_zero_on_errors(loaded, capsys, failing_gold_check):
    from playstudio_luigi.cli import main

    assert main(["checks", "--since", "1h"]) == 0
    report = capsys.readouterr().out
    assert "ok   error gold.daily_at_least_hourly: 1 run(s)" in report
    assert "Quarantined rows by reason\n  none" in report
    assert "Purchases: loaded until 2022-04-01 23:00 UTC" in report
    assert "WARN Purchases" in report  # 2022 is long ago: not fresh

    failing_gold_check("error")
    assert not run([HourlyPipeline(hour=dt(2022, 4, 1, 23))])
    assert main(["checks", "--since", "1h"]) == 1
    report = capsys.readouterr().out
    assert "FAIL error gold.always_fails: 1 run(s), 1 failed (1 failing rows)" in report
    # A window that starts after every recorded result reports nothing.
    assert main(["checks", "--since", "2999-01-01"]) == 0


GUARANTEED = [check for check in CHECKS if check.guarantee is not None]
CONSTRAINTS = {
    "silver_purchases.unique_transaction_id": "primary key silver_purchases_pkey (transaction_id)",
    "silver_purchases.not_null": "not null (transaction_id, event_time, user_id, revenue)",
    "silver_spins_hourly.unique_key": (
        "primary key silver_spins_hourly_pkey (app_hour, user_id, country)"
    ),
    "gold.unique_key": "primary key aggregated_final_table_pkey (app_hour, user_id)",
    "gold.not_null": (
        "not null (user_id, country, total_spins_hourly, total_revenue_hourly,"
        " amount_purchases_hourly, avg_revenue_per_purchase_hourly, total_revenue_per_user_daily)"
    ),
}


def test_checks_a_constraint_enforces_are_recorded_passed_naming_it(loaded):
    assert {check.qualified_name for check in GUARANTEED} == set(CONSTRAINTS)
    with loaded.cursor() as cursor:
        cursor.execute(
            "select layer || '.' || check_name, status, failing_rows, sample"
            " from ops.check_results where sample::text like '%guaranteed_by%'"
        )
        recorded = {name: (status, rows, sample) for name, status, rows, sample in cursor}
    assert recorded == {
        name: ("pass", 0, [{"guaranteed_by": constraint}])
        for name, constraint in CONSTRAINTS.items()
    }


@pytest.mark.parametrize("check", GUARANTEED, ids=lambda c: c.qualified_name)
def test_a_guaranteed_check_runs_its_sql_once_the_constraint_is_gone(loaded, check: Check):
    """The breaker's first statement drops the constraint (or one column's not null): the
    check is no longer taken for granted, runs, passes on the clean rows and fails on bad
    ones."""
    drop, *breaks = BREAKERS[check.qualified_name]
    with loaded.cursor() as cursor:
        [guaranteed] = [
            r for r in run_checks(cursor, check.layer, PARAMS[check.layer]) if r.check == check
        ]
        assert guaranteed.guaranteed_by == CONSTRAINTS[check.qualified_name]
        cursor.execute(drop)
        [clean] = [
            r for r in run_checks(cursor, check.layer, PARAMS[check.layer]) if r.check == check
        ]
        assert (clean.guaranteed_by, clean.failing_rows, clean.sample) == (None, 0, [])
        for statement in breaks:
            cursor.execute(statement)
        [broken] = [
            r for r in run_checks(cursor, check.layer, PARAMS[check.layer]) if r.check == check
        ]
    assert broken.guaranteed_by is None and broken.failed


@pytest.mark.parametrize(
    ("check_name", "replacement"),
    [
        # checked at commit only: the checks run before it, so they must look
        (
            "silver_purchases.unique_transaction_id",
            "alter table silver.silver_purchases add unique (transaction_id)"
            " deferrable initially deferred",
        ),
        # unique over more columns than the check's: two rows may share the check's columns
        (
            "gold.unique_key",
            "alter table gold.aggregated_final_table add unique (app_hour, user_id, country)",
        ),
        # a partial unique index holds only for some rows
        (
            "silver_spins_hourly.unique_key",
            "create unique index partial_key on silver.silver_spins_hourly"
            " (app_hour, user_id, country) where total_spins > 0",
        ),
    ],
    ids=["deferred", "wider", "partial"],
)
def test_a_constraint_that_does_not_enforce_the_rule_now_guarantees_nothing(
    loaded, check_name: str, replacement: str
):
    check = next(c for c in GUARANTEED if c.qualified_name == check_name)
    with loaded.cursor() as cursor:
        cursor.execute(BREAKERS[check_name][0])  # the constraint dropped
        cursor.execute(replacement)
        [result] = [
            r for r in run_checks(cursor, check.layer, PARAMS[check.layer]) if r.check == check
        ]
    assert result.guaranteed_by is None and result.failing_rows == 0


def test_a_not_null_constraint_not_yet_validated_guarantees_nothing(loaded):
    """PostgreSQL 18's `not null ... not valid` leaves old rows unchecked."""
    check = next(c for c in GUARANTEED if c.qualified_name == "silver_purchases.not_null")
    with loaded.cursor() as cursor:
        cursor.execute("show server_version_num")
        if int(cursor.fetchone()[0]) < 180000:
            statements = ["alter table silver.silver_purchases alter column user_id drop not null"]
        else:
            statements = [
                "alter table silver.silver_purchases alter column user_id drop not null",
                "alter table silver.silver_purchases add constraint user_id_present"
                " not null user_id not valid",
            ]
        for statement in statements:
            cursor.execute(statement)
        [result] = [
            r for r in run_checks(cursor, check.layer, PARAMS[check.layer]) if r.check == check
        ]
    assert result.guaranteed_by is None and result.failing_rows == 0
