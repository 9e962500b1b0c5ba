"""Slack alerts against a real HTTP server: content, limits, secrets, retries, storms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime as dt
from pathlib import Path

import luigi
import pytest
from source_rows import tx
from webhook_server import FakeSlack, Reply

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline
from playstudio_luigi.alerts.message import collapse, validate_payload
from playstudio_luigi.tasks.base import HourTask
from playstudio_luigi.testing import run, write_workbook

pytestmark = pytest.mark.integration

HOUR = dt(2022, 4, 1, 22)
UUID = tx(1)


@pytest.fixture
def slack_settings() -> Iterator[callable]:
    config = luigi.configuration.get_config()
    changed: list[str] = []

    def set_(**values: object) -> None:
        for key, value in values.items():
            config.set("slack", key, str(value))
            changed.append(key)

    yield set_
    for key in changed:
        config.remove_option("slack", key)


@pytest.fixture
def broken_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_workbook(
        tmp_path / "broken.xlsx",
        purchase_header=("date", "userId", "revenue"),  # transaction_id missing
        purchases=[(HOUR, "U1", "PriceInUSD=1.00")],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    return path


def all_text(payload: dict) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False)


def test_failing_task_posts_one_valid_message(warehouse, slack_hook, broken_source):
    assert not run([FiveMinutePipeline(interval=HOUR)])
    assert len(slack_hook.payloads) == 1
    payload = slack_hook.payloads[0]
    assert validate_payload(payload) == []
    text = all_text(payload)
    assert "ExtractPurchases failure: 2022-04-01T22:00" in text
    assert "has no column 'transaction_id'" in text
    assert "SourceFormatError" in text
    assert "luigi --module playstudio_luigi ExtractPurchases --interval 2022-04-01T2200" in text


def test_healthy_run_posts_nothing(warehouse, slack_hook, tmp_path, monkeypatch):
    good = write_workbook(
        tmp_path / "good.xlsx",
        purchases=[(HOUR, "U1", "PriceInUSD=1.00", UUID)],
        spins=[(HOUR, "U1", "US", 1)],
    )
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(good))
    assert run([HourlyPipeline(hour=HOUR)])
    assert slack_hook.payloads == []


def test_alerts_arrive_from_child_processes(warehouse, slack_hook, broken_source):
    assert not run([FiveMinutePipeline(interval=HOUR)], workers=2)
    assert [p["blocks"][0]["text"]["text"] for p in slack_hook.payloads] == [
        "ExtractPurchases failure: 2022-04-01T22:00"
    ]


class SlowTask(HourTask):
    """Runs past its worker timeout."""

    worker_timeout = 1

    def run(self) -> None:
        time.sleep(30)


class NoisyTask(HourTask):
    """Fails with a huge traceback carrying secrets."""

    def run(self) -> None:
        self.recurse(150)

    def recurse(self, depth: int) -> None:
        if depth:
            self.recurse(depth - 1)
        raise RuntimeError(
            "could not connect to postgresql://loader:hunter2secret@db.internal:5432/warehouse "
            f"(webhook {os.environ['PLAYSTUDIO_SLACK_WEBHOOK_URL']}) password=alsosecret "
            + "x"
            * 20_000
        )


def test_worker_timeout_alert_comes_from_the_parent(warehouse, slack_hook):
    started = time.monotonic()
    assert not run([SlowTask(hour=HOUR)])
    assert time.monotonic() - started < 25, "the worker did not stop the task at its timeout"
    assert len(slack_hook.payloads) == 1
    assert (
        slack_hook.payloads[0]["blocks"][0]["text"]["text"] == "SlowTask timeout: 2022-04-01T22:00"
    )
    assert validate_payload(slack_hook.payloads[0]) == []


def test_long_traceback_and_secrets_stay_within_limits(warehouse, slack_hook):
    assert not run([NoisyTask(hour=HOUR)])
    assert len(slack_hook.received) == 1
    raw = slack_hook.received[0].raw
    payload = slack_hook.payloads[0]
    assert validate_payload(payload) == []
    assert "hunter2secret" not in raw and "alsosecret" not in raw
    assert "secret-token-XYZ" not in raw, "the webhook URL itself is a secret"
    assert "postgresql://loader:***@db.internal" in raw
    assert "in recurse" in all_text(payload), "the traceback's tail is kept"


def test_retries_after_500_and_429_honouring_retry_after(
    warehouse, slack_hook, broken_source, slack_settings
):
    slack_hook.replies = [Reply(500), Reply(429, {"Retry-After": "1"}), Reply(200)]
    assert not run([FiveMinutePipeline(interval=HOUR)])
    assert [r.payload == slack_hook.received[0].payload for r in slack_hook.received] == [True] * 3
    _first, second, third = (r.at for r in slack_hook.received)
    assert third - second >= 1.0, "Retry-After: 1 was not honoured"


def test_dead_endpoint_does_not_stall_the_pipeline(
    warehouse, slack_hook, broken_source, slack_settings
):
    slack_settings(timeout_seconds=1, retries=5, max_seconds=3)
    slack_hook.replies = [Reply(200, delay=60)] * 10
    started = time.monotonic()
    assert not run([FiveMinutePipeline(interval=HOUR)])  # the same outcome as without Slack
    assert time.monotonic() - started < 15, "a hanging webhook stalled the worker"


def _alerts_of(command: list[str], home: Path) -> list[dict]:
    """Run ``command`` with Slack pointed at a fake endpoint; the payloads it received."""
    with FakeSlack().running() as fake:
        env = {**os.environ, "PLAYSTUDIO_SLACK_WEBHOOK_URL": fake.url, "PLAYSTUDIO_HOME": str(home)}
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode != 0, result.stderr[-2000:]
        return fake.payloads


def test_a_failing_backfill_day_sends_one_message(warehouse, tmp_path, broken_source):
    cli = Path(sys.executable).parent / "playstudio-luigi"
    payloads = _alerts_of(
        [str(cli), "backfill", "--start", "2022-04-01T00", "--stop", "2022-04-01T09"],
        tmp_path / "home",
    )
    assert len(payloads) == 1
    assert "DayPipeline" in all_text(payloads[0]) and "SourceFormatError" in all_text(payloads[0])
    assert validate_payload(payloads[0]) == []


def test_many_failures_send_a_bounded_number_of_messages(warehouse, tmp_path, broken_source):
    """Cron's per-interval tasks over a range where 108 intervals fail: the first failure of
    each family, then a digest."""
    luigi_cli = Path(sys.executable).parent / "luigi"
    payloads = _alerts_of(
        [
            str(luigi_cli), "--module", "playstudio_luigi", "RangeByMinutes",
            "--of", "FiveMinutePipeline", "--minutes-interval", "5",
            "--start", "2022-04-01T0000", "--stop", "2022-04-01T0900", "--task-limit", "200",
            "--local-scheduler",
        ],
        tmp_path / "home",
    )  # fmt: skip
    # 108 five-minute intervals fail: one message at once, then one digest naming the rest.
    assert len(payloads) == 2
    first, digest = payloads
    first_interval = first["blocks"][0]["text"]["text"].removeprefix("ExtractPurchases failure: ")
    assert digest["blocks"][0]["text"]["text"] == "FAILURE:ExtractPurchases: 107 more failure(s)"
    assert validate_payload(first) == [] and validate_payload(digest) == []
    everything = [f"2022-04-01T{h:02d}:{m:02d}" for h in range(9) for m in range(0, 60, 5)]
    rest = [label for label in everything if label != first_interval]
    assert len(rest) == 107
    assert collapse(rest) in all_text(digest)


def test_quarantine_warnings_of_a_bulk_day_name_their_own_intervals(
    warehouse, slack_hook, slack_settings, tmp_path, monkeypatch
):
    """One DayPipeline task validates every interval of its day: each interval's warning
    carries that interval's label and rerun command, not the day's first interval's."""
    from datetime import date, timedelta

    from playstudio_luigi import DayPipeline

    slack_settings(min_interval_seconds=0)
    rows = []
    for minute in (10, 40):  # 1 bad row of 5 (20%): above the 5% warning, not refused
        start = HOUR + timedelta(minutes=minute)
        ids = [f"00000000-0000-4000-8000-{minute:06d}{s:06d}" for s in range(5)]
        rows += [(start + timedelta(seconds=s), "U1", "PriceInUSD=1.00", ids[s]) for s in range(4)]
        rows.append((start + timedelta(seconds=30), "U1", "PriceInEUR=1.00", ids[4]))
    path = write_workbook(tmp_path / "w.xlsx", rows, [(HOUR, "U1", "US", 1)])
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(path))
    assert run([DayPipeline(day=date(2022, 4, 1), from_hour=22, to_hour=23)])
    texts = [str(payload) for payload in slack_hook.payloads]
    for payload in slack_hook.payloads:
        assert validate_payload(payload) == []
    warnings = [text for text in texts if "quarantine_warn_ratio" in text]
    assert len(warnings) == 2, texts
    for minute, text in zip((10, 40), sorted(warnings, key=lambda t: "22:40" in t), strict=True):
        assert f"2022-04-01T22:{minute}" in text
        assert f"--interval 2022-04-01T22{minute}" in text
