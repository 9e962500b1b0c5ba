"""Alerts: a webhook that trickles its answer cannot hold an alert (or a run) past its time
bound, and an unreachable one cannot make requests print the webhook's token.

Real local HTTP servers (``webhook_server``); the time bound is asserted by order of events
(the run ends while the server is still sending), never by a timing threshold.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from faults import cli_env
from webhook_server import TricklingSlack, unreachable_webhook_url

from playstudio_luigi.alerts import webhook
from playstudio_luigi.alerts.webhook import DeliveryPolicy, post
from playstudio_luigi.testing import PURCHASE_HEADER, write_workbook

PAYLOAD = {"text": "x"}


def url_parts(url: str) -> list[str]:
    """The secret parts of a webhook URL: the URL, its path, every segment but the first."""
    path = urlsplit(url).path
    return [url, path, *[s for s in path.split("/") if s][1:]]


@pytest.fixture(autouse=True)
def fresh_run_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a run of its own."""
    monkeypatch.setattr(webhook, "RUN_BUDGET", webhook._RunBudget())


def test_a_trickling_webhook_is_abandoned_at_the_alert_deadline() -> None:
    # 60 bytes at one every 0.5 s: 30 s, each read well within the 5 s read timeout.
    with TricklingSlack(body_bytes=60, every=0.5).running() as slack:
        policy = DeliveryPolicy(timeout_seconds=5, retries=3, max_seconds=1)
        delivered = post(PAYLOAD, slack.url, policy)
        still_sending = not slack.finished.is_set()
    assert slack.requests == 1
    assert still_sending, "post() waited for the whole trickled answer"
    assert delivered is False


def test_alerts_of_one_run_share_a_total_deadline() -> None:
    with TricklingSlack(body_bytes=60, every=0.5).running() as slack:
        policy = DeliveryPolicy(timeout_seconds=5, retries=0, max_seconds=1, max_run_seconds=1.5)
        outcomes = [post(PAYLOAD, slack.url, policy) for _ in range(4)]
        still_sending = not slack.finished.is_set()
    assert outcomes == [False] * 4
    # The first alert used 1 s, the second the 0.5 s left; the others were not even sent.
    assert slack.requests == 2
    assert still_sending


@pytest.mark.integration
def test_a_cron_run_is_not_held_by_a_trickling_webhook(tmp_path: Path, warehouse: str) -> None:
    """The issue's case: one cron run against a trickling Slack ends within its bounds."""
    broken = write_workbook(tmp_path / "b.xlsx", purchase_header=PURCHASE_HEADER[:3], purchases=[])
    config = tmp_path / "luigi.cfg"
    config.write_text("[slack]\nmax_seconds = 1\nmax_run_seconds = 2\ntimeout_seconds = 5\n")
    with TricklingSlack(body_bytes=120, every=0.5).running() as slack:
        env = cli_env(
            dsn=warehouse,
            home=tmp_path / "home",
            source=broken,
            PLAYSTUDIO_SLACK_WEBHOOK_URL=slack.url,
            LUIGI_CONFIG_PATH=str(config),
        )
        command = [str(Path(sys.executable).parent / "luigi"), "--module", "playstudio_luigi"]
        command += ["FiveMinutePipeline", "--interval", "2022-04-01T2200", "--local-scheduler"]
        result = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        still_sending = not slack.finished.is_set()
    assert result.returncode != 0
    assert slack.requests >= 1, result.stderr[-2000:]
    assert still_sending, "the run waited for the trickling webhook"
    for part in url_parts(slack.url):
        assert part not in result.stdout + result.stderr


@pytest.mark.parametrize("configured", [True, False], ids=["from-environment", "passed-in"])
def test_an_unreachable_webhook_never_shows_its_token(
    configured: bool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = unreachable_webhook_url()
    if configured:
        monkeypatch.setenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", url)
    else:
        monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    with caplog.at_level(logging.WARNING, logger="playstudio_luigi.alerts"):
        assert not post(PAYLOAD, url, DeliveryPolicy(timeout_seconds=2, retries=1, max_seconds=5))
    logged = caplog.text
    assert "ConnectionError" in logged  # the evidence is there, only masked
    for part in url_parts(url):
        assert part not in logged, f"{part!r} logged"
