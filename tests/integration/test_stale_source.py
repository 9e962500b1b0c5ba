"""Stale source (DESIGN 3.3, 7) against the real PostgreSQL and a real local HTTP receiver: one
alert per stale episode, reminders only when the time passed in says so, one recovery, one
alert whatever the number of concurrent callers, and no secret in any of it."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import luigi
import psycopg2
import pytest
from webhook_server import FakeSlack, Reply

from playstudio_luigi.alerts.message import validate_payload
from playstudio_luigi.alerts.stale import (
    HealthRecord,
    SheetHealth,
    StalePolicy,
    deliver,
    read_source_health,
    record_source_health,
    report_source_health,
)
from playstudio_luigi.datadocs import build_site
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.reports.status import coverage_status

pytestmark = pytest.mark.integration

T0 = datetime(2022, 4, 2, 6, 0)  # the checks' clock, passed in
WRITTEN = datetime(2022, 4, 2, 5, 0)  # the newest export: an hour old at T0, so stale
FILE = "/data/exports/2022/04/02/purchases-0500.csv"


def stale_purchases(waiting: int = 12) -> list[SheetHealth]:
    return [SheetHealth("Purchases", WRITTEN, FILE, waiting)]


def fresh_purchases(at: datetime) -> list[SheetHealth]:
    return [SheetHealth("Purchases", at, "/data/exports/2022/04/02/purchases-late.csv", 0)]


def all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


@pytest.fixture
def settings() -> Iterator[callable]:
    """``settings(section, key=value, ...)`` in Luigi's config for this test only."""
    parser = luigi.configuration.get_config()
    changed: list[tuple[str, str]] = []

    def set_(section: str, **values: object) -> None:
        for key, value in values.items():
            parser.set(section, key, str(value))
            changed.append((section, key))

    yield set_
    for section, key in changed:
        parser.remove_option(section, key)


def stored(sheet: str = "Purchases") -> HealthRecord:
    connection = db_connection.connect()
    try:
        with connection.cursor() as cursor:
            return next(r for r in read_source_health(cursor) if r.sheet == sheet)
    finally:
        connection.close()


def test_stale_source_alerts_once_then_recovers_once(warehouse, slack_hook, monkeypatch, settings):
    notices = report_source_health(stale_purchases(), now=T0)
    assert [n.kind for n in notices] == ["stale"]
    assert len(slack_hook.payloads) == 1
    payload = slack_hook.payloads[0]
    assert validate_payload(payload) == []
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Source stale: Purchases"},
    }
    text = all_text(payload)
    assert "No *Purchases* export newer than 2022-04-02 05:00 UTC (1 h ago" in text
    assert "*Stale since*\\n2022-04-02 05:30 UTC" in text  # watermark + 30 minutes
    assert "*Waiting intervals*\\n12" in text
    assert FILE in text
    raw = slack_hook.received[0].raw
    for secret in (slack_hook.url, "secret-token-XYZ", "/services/T000/B000"):
        assert secret not in raw

    # 100 more runs while it stays stale, five minutes apart (8 h 20 min), reminders off
    # (stale_reminder_hours = 0): nothing more.
    settings("slack", stale_reminder_hours=0)
    for run in range(1, 101):
        moment = T0 + run * timedelta(minutes=5)
        assert report_source_health(stale_purchases(12 + run), moment) == []
    assert len(slack_hook.payloads) == 1
    assert stored().waiting_intervals == 112

    # The export catches up: one recovery, then silence.
    caught_up = T0 + timedelta(hours=9)
    notices = report_source_health(fresh_purchases(caught_up - timedelta(minutes=2)), caught_up)
    assert [n.kind for n in notices] == ["recovery"]
    for later in range(1, 20):
        moment = caught_up + later * timedelta(minutes=5)
        assert report_source_health(fresh_purchases(moment - timedelta(minutes=1)), moment) == []
    assert len(slack_hook.payloads) == 2
    recovery = slack_hook.payloads[1]
    assert validate_payload(recovery) == []
    assert recovery["blocks"][0]["text"]["text"] == "Source caught up: Purchases"
    assert "had been stale since 2022-04-02 05:30 UTC (9 h 30 min)" in all_text(recovery)
    record = stored()
    assert record.stale_since is None and record.recovered_at == caught_up
    assert record.alerted_at is None and record.alert_delivered_at is None


def test_reminders_follow_the_time_passed_in(warehouse, slack_hook, settings):
    settings("slack", stale_reminder_hours=6)
    kinds = []
    for run in range(0, 13 * 12 + 1):  # 13 hours of five-minute runs
        kinds += [
            n.kind for n in report_source_health(stale_purchases(), T0 + run * timedelta(minutes=5))
        ]
    assert kinds == ["stale", "reminder", "reminder"]  # at 0 h, 6 h, 12 h
    headers = [p["blocks"][0]["text"]["text"] for p in slack_hook.payloads]
    assert headers == ["Source stale: Purchases", *["Source still stale: Purchases"] * 2]
    assert all(validate_payload(p) == [] for p in slack_hook.payloads)
    assert "reminder every 6 h" in all_text(slack_hook.payloads[0])


def test_a_second_episode_alerts_again(warehouse, slack_hook):
    report_source_health(stale_purchases(), T0)
    report_source_health(fresh_purchases(T0 + timedelta(minutes=59)), T0 + timedelta(hours=1))
    again = T0 + timedelta(hours=3)
    notices = report_source_health(fresh_purchases(T0 + timedelta(minutes=59)), again)
    assert [n.kind for n in notices] == ["stale"]
    assert stored().stale_since == T0 + timedelta(minutes=89)
    assert [p["blocks"][0]["text"]["text"] for p in slack_hook.payloads] == [
        "Source stale: Purchases",
        "Source caught up: Purchases",
        "Source stale: Purchases",
    ]


def test_concurrent_callers_send_one_alert(warehouse, slack_hook):
    """Eight callers with their own connections report the same stale sheets at once; the
    rows exist already (a first insert alone would serialise them)."""
    earlier = T0 - timedelta(hours=1)
    report_source_health(
        [SheetHealth("Purchases", earlier, FILE), SheetHealth("Spins Hourly", earlier, FILE)],
        earlier,
    )
    callers = 8
    barrier = threading.Barrier(callers)
    claimed: list[str] = []
    errors: list[BaseException] = []
    policy = StalePolicy(timedelta(minutes=30), reminder=timedelta(hours=6))

    def check(offset: int) -> None:
        connection = db_connection.connect()
        try:
            barrier.wait()
            with connection, connection.cursor() as cursor:
                health = [*stale_purchases(), SheetHealth("Spins Hourly", None, None, 3)]
                notices = record_source_health(
                    cursor, health if offset % 2 else health[::-1], T0, policy
                )
            claimed.extend(f"{n.kind}:{n.record.sheet}" for n in notices)
            deliver(notices, policy)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(claimed) == ["stale:Purchases", "stale:Spins Hourly"]
    headers = sorted(p["blocks"][0]["text"]["text"] for p in slack_hook.payloads)
    assert headers == ["Source stale: Purchases", "Source stale: Spins Hourly"]
    spins = next(p for p in slack_hook.payloads if "Spins" in p["blocks"][0]["text"]["text"])
    assert "No export holds the *Spins Hourly* sheet" in all_text(spins)
    assert stored("Spins Hourly").alert_delivered_at == T0


def test_secrets_in_a_reported_path_never_reach_slack(warehouse, slack_hook):
    """Paths come from the source folder: whatever they hold is redacted like any message."""
    leaky = f"/mnt/postgresql://loader:hunter2secret@db/x/password=alsosecret/{slack_hook.url}.csv"
    report_source_health([SheetHealth("Purchases", WRITTEN, leaky, 1)], T0)
    raw = slack_hook.received[0].raw
    assert validate_payload(slack_hook.payloads[0]) == []
    for secret in ("hunter2secret", "alsosecret", "secret-token-XYZ", slack_hook.url):
        assert secret not in raw
    assert "/mnt/postgresql://loader:***@db" in raw


def test_an_unreadable_export_holding_the_watermark_back_is_named(warehouse, slack_hook):
    broken = "/data/exports/2022/04/02/purchases-0505.xlsx"
    report_source_health([SheetHealth("Purchases", WRITTEN, FILE, 7, held_by=broken)], T0)
    payload = slack_hook.payloads[0]
    assert validate_payload(payload) == []
    text = all_text(payload)
    assert f"The watermark is held back by {broken}, which cannot be read" in text
    assert f"*Held back by*\\n{broken}" in text
    assert stored().held_by == broken


CHECK_IN_A_PROCESS = """
import sys
from datetime import datetime
from playstudio_luigi.alerts.stale import SheetHealth, report_source_health
from playstudio_luigi.db.connection import transaction
with transaction():
    pass  # connected (and the schema checked) before the start
print("ready", flush=True)
sys.stdin.readline()  # the start signal, once every process is imported and connected
health = [SheetHealth("Purchases", datetime(2022, 4, 2, 5), "/data/p.csv", 12)]
notices = report_source_health(health, datetime(2022, 4, 2, 6))
print(",".join(n.kind for n in notices))
"""


def test_concurrent_processes_send_one_alert(warehouse, slack_hook, tmp_path):
    """Cron runs on several machines: separate interpreters, connections and clocks' caches."""
    report_source_health(fresh_purchases(T0 - timedelta(hours=1)), T0 - timedelta(hours=1))
    env = {**os.environ, "PLAYSTUDIO_DSN": warehouse, "PLAYSTUDIO_HOME": str(tmp_path / "h")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CHECK_IN_A_PROCESS],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout.readline() == "ready\n", process.stderr.read()
    for process in processes:  # all released together
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outcomes
    assert sorted(out.strip() for out, _ in outcomes) == ["", "", "", "stale"]
    assert [p["blocks"][0]["text"]["text"] for p in slack_hook.payloads] == [
        "Source stale: Purchases"
    ]


def test_without_a_webhook_the_state_is_recorded_and_nothing_sent(warehouse, monkeypatch, caplog):
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    with caplog.at_level(logging.WARNING, logger="playstudio_luigi.alerts"):
        assert report_source_health(stale_purchases(), T0) == []
    # Every run that finds it stale says so in its log (cron mails it), alert or not.
    assert caplog.messages == [
        "source stale: Purchases (newest export written 2022-04-02 05:00:00 UTC, 1 h ago; "
        "more than 30 min); 12 interval(s) wait"
    ]
    record = stored()
    assert record.watermark == WRITTEN and record.newest_file == FILE
    assert record.stale_since == WRITTEN + timedelta(minutes=30)
    assert record.alerted_at is None  # nobody was told: a webhook set later still alerts
    with FakeSlack().running() as fake:
        monkeypatch.setenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", fake.url)
        notices = report_source_health(stale_purchases(), T0 + timedelta(minutes=5))
        assert [n.kind for n in notices] == ["stale"]
        assert len(fake.payloads) == 1


def test_a_failing_webhook_is_claimed_again_later_not_at_once(warehouse, slack_hook, settings):
    settings("slack", max_seconds=5, retries=1, timeout_seconds=2)
    slack_hook.replies = [Reply(status=500), Reply(status=503)]
    assert [n.kind for n in report_source_health(stale_purchases(), T0)] == ["stale"]
    assert stored().alert_delivered_at is None
    # A run within the retry delay does not claim it again (its sender may still be posting);
    # one after it does, and Slack accepts it this time; then it is not sent again.
    assert report_source_health(stale_purchases(), T0 + timedelta(minutes=1)) == []
    retried = T0 + timedelta(minutes=5)
    assert [n.kind for n in report_source_health(stale_purchases(), retried)] == ["stale"]
    assert stored().alert_delivered_at == retried
    assert report_source_health(stale_purchases(), retried + timedelta(minutes=5)) == []
    assert len(slack_hook.payloads) == 3  # 500, 503, then the accepted retry
    assert all(validate_payload(p) == [] for p in slack_hook.payloads)


def test_a_slow_webhook_does_not_stall_the_caller(warehouse, slack_hook, settings):
    settings("slack", max_seconds=1, retries=0, timeout_seconds=0.5)
    slack_hook.replies = [Reply(delay=8)]
    started = time.monotonic()
    assert [n.kind for n in report_source_health(stale_purchases(), T0)] == ["stale"]
    assert time.monotonic() - started < 6, "a slow webhook held the caller"
    assert stored().alert_delivered_at is None  # claimed again by a later run


def test_an_older_observation_changes_nothing(warehouse, slack_hook):
    report_source_health(fresh_purchases(T0 - timedelta(minutes=1)), T0)
    # A long backfill reports the clock it read when it started: older than the record.
    assert report_source_health(stale_purchases(), T0 - timedelta(hours=2)) == []
    record = stored()
    assert record.checked_at == T0 and record.stale_since is None
    assert slack_hook.payloads == []


def test_a_bad_threshold_is_one_line_naming_the_setting(warehouse, settings):
    settings("playstudio", source_stale_after="30 months")
    with pytest.raises(Exception, match=r"\[playstudio\] source_stale_after = '30 months'"):
        report_source_health(stale_purchases(), T0)


def test_data_docs_of_a_warehouse_no_run_has_checked(db, tmp_path):
    build_site(tmp_path / "site", datetime(2022, 4, 1, 22), datetime(2022, 4, 2, 2), db)
    for page in ("index.html", "coverage.html"):
        html = (tmp_path / "site" / page).read_text()
        assert 'data-source-feed="unchecked"' in html, page
        assert "Not checked yet: no run has recorded the source" in html


def test_an_old_warehouse_gets_the_table_and_reports_on_it(warehouse, monkeypatch):
    """A warehouse of the last release before migrations (tests/upgrade) is migrated to 0006:
    the table is there, empty; status reads it, a run records into it."""
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    dump = Path(__file__).resolve().parent.parent / "upgrade" / "ae1e6ff_warehouse.sql.gz"
    raw = psycopg2.connect(warehouse)
    with raw, raw.cursor() as cursor:
        cursor.execute(gzip.decompress(dump.read_bytes()).decode())
        cursor.execute("select to_regclass('ops.source_health')")
        assert cursor.fetchone() == (None,)
    raw.close()
    connection = db_connection.connect()  # migrates
    try:
        with connection.cursor() as cursor:
            cursor.execute("select max(version) from ops.schema_migrations")
            assert cursor.fetchone()[0] >= 6
            assert read_source_health(cursor) == []
        connection.rollback()
        status = coverage_status(connection, T0, T0 + timedelta(hours=1), since=T0)
        assert status.source == []
        assert report_source_health(stale_purchases(), T0) == []  # no webhook in this test
        status = coverage_status(connection, T0, T0 + timedelta(hours=1), since=T0, now=T0)
        assert [(s.sheet, s.stale, s.waiting_intervals) for s in status.source] == [
            ("Purchases", True, 12)
        ]
    finally:
        connection.close()
