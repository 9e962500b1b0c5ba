"""What runs report about themselves (issue 16, item 10): the data docs' Quality page after
bulk loads, and the status messages luigid shows for DayPipeline and HourlyPipeline."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from luigi.scheduler import Scheduler
from luigi.worker import Worker

from playstudio_luigi import DayPipeline, HourlyPipeline
from playstudio_luigi.datadocs import build_site
from playstudio_luigi.datadocs.collect import quality
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

START, STOP = datetime(2022, 4, 1), datetime(2022, 4, 3)  # the bundled sample's two days
FIVE_MINUTES, HOURS = 2 * 288, 2 * 24


@pytest.fixture
def sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(BUNDLED_SAMPLE))


def test_quality_page_counts_every_interval_a_bulk_load_checked(db, sample, tmp_path: Path):
    assert run_backfill(START, STOP, workers=1)
    rows = {
        row.check.qualified_name: row
        for checks in quality(db, START, STOP).checks.values()
        for row in checks
    }
    expected = {
        "ingest.reject_ratio": FIVE_MINUTES + HOURS,  # purchases and spins are validated
        "ingest.country_known": HOURS,
        "silver_purchases.not_null": FIVE_MINUTES,
        "silver_spins_hourly.unique_key": HOURS,
        "gold.unique_key": HOURS,
    }
    assert {name: rows[name].intervals for name in expected} == expected
    assert {row.status for row in rows.values()} == {"pass"}, {
        name: row.status for name, row in rows.items() if row.status != "pass"
    }
    page = (build_site(tmp_path / "site", START, STOP, db)[0].parent / "quality.html").read_text()
    assert 'data-check="ingest.reject_ratio" data-status="pass"' in page
    assert 'data-check="silver_purchases.not_null" data-status="pass" ' in page
    assert f'data-intervals="{FIVE_MINUTES}"' in page


def _status_message(task) -> str | None:
    """Run ``task`` with a scheduler of our own (luigid's code) and read what it shows."""
    scheduler = Scheduler()
    with Worker(scheduler=scheduler, worker_processes=1) as worker:
        assert worker.add(task)
        assert worker.run()
    return scheduler.get_task_status_message(task.task_id).get("statusMessage")


def _count(db, query: str) -> int:
    with db.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def test_day_pipeline_status_message_has_row_counts(db, sample):
    message = _status_message(DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=23))
    bronze = _count(db, "select count(*) from bronze.bronze_purchases")
    gold = _count(db, "select count(*) from gold.aggregated_final_table")
    assert bronze and gold
    assert message.startswith("[2022-04-01 22:00, 2022-04-01 23:00): done; rows: "), message
    assert f"LoadBronzePurchases: source {bronze:,}, bronze {bronze:,}" in message, message
    assert f"GoldAggregate: gold {gold:,}" in message, message


def test_hourly_pipeline_status_message_has_row_counts(db, sample):
    message = _status_message(HourlyPipeline(hour=datetime(2022, 4, 1, 22)))
    silver = _count(db, "select count(*) from silver.silver_purchases")
    gold = _count(db, "select count(*) from gold.aggregated_final_table")
    assert message is not None, "HourlyPipeline showed nothing in luigid"
    assert f"SilverPurchases: silver {silver:,}" in message, message
    assert message.endswith(f"GoldAggregate: gold {gold:,}"), message
