"""Stale-source rules without a server: the state machine (one alert per episode, one recovery,
reminders by the clock passed in), the messages (valid Block Kit for any input, no secret), and
the ``source_stale_after`` setting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

import luigi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playstudio_luigi import config
from playstudio_luigi.alerts.message import (
    RECOVERY,
    REMINDER,
    STALE,
    SourceNotice,
    duration,
    source_payload,
    validate_payload,
)
from playstudio_luigi.alerts.stale import (
    HealthRecord,
    SheetHealth,
    StalePolicy,
    is_stale,
    transition,
)

T0 = datetime(2022, 4, 2, 6, 0)
STALE_AFTER = timedelta(minutes=30)
NO_REMINDER = StalePolicy(STALE_AFTER, reminder=None)


def delivered(record: HealthRecord, notice) -> HealthRecord:
    """The state once Slack accepted ``notice`` (what ``deliver`` records)."""
    if notice is not None and notice.kind != RECOVERY:
        return replace(record, alert_delivered_at=record.alerted_at)
    return record


def run_checks(
    observations: list[tuple[datetime, datetime | None]], policy: StalePolicy
) -> Iterator[tuple[bool, str | None]]:
    """Feed ``(now, watermark)`` checks through the state machine; yield (stale, notice kind)."""
    record = None
    for now, watermark in observations:
        record, notice = transition(record, SheetHealth("Purchases", watermark, "f"), now, policy)
        record = delivered(record, notice)
        yield is_stale(record.watermark, now, STALE_AFTER), notice.kind if notice else None


# A check every 1..90 minutes; the newest export 0..180 minutes old (or none).
checks = st.lists(
    st.tuples(st.integers(1, 90), st.one_of(st.none(), st.integers(0, 180))),
    min_size=1,
    max_size=60,
)


def timeline(steps: list[tuple[int, int | None]]) -> list[tuple[datetime, datetime | None]]:
    now, out = T0, []
    for gap, age in steps:
        now += timedelta(minutes=gap)
        out.append((now, None if age is None else now - timedelta(minutes=age)))
    return out


@settings(max_examples=200)
@given(steps=checks)
def test_one_alert_per_episode_and_one_recovery_per_end(steps):
    results = list(run_checks(timeline(steps), NO_REMINDER))
    states = [stale for stale, _ in results]
    episodes = sum(1 for i, s in enumerate(states) if s and (i == 0 or not states[i - 1]))
    ended = sum(1 for i, s in enumerate(states) if not s and i and states[i - 1])
    kinds = [kind for _, kind in results if kind]
    assert kinds.count(STALE) == episodes
    assert kinds.count(RECOVERY) == ended
    assert all(a != b for a, b in pairwise(kinds)), kinds  # alternate
    # A notice only where the state changed.
    for i, (stale, kind) in enumerate(results):
        if kind == STALE:
            assert stale and (i == 0 or not states[i - 1])
        if kind == RECOVERY:
            assert not stale and states[i - 1]


@settings(max_examples=50)
@given(hours=st.integers(0, 30), every=st.sampled_from([1, 5, 17, 60]), reminder=st.integers(1, 9))
def test_reminders_come_every_period_of_the_time_passed_in(hours, every, reminder):
    period = timedelta(hours=reminder)
    policy = StalePolicy(STALE_AFTER, reminder=period)
    moments = [T0 + timedelta(minutes=m) for m in range(0, hours * 60 + 1, every)]
    observed = [(now, T0 - timedelta(hours=1)) for now in moments]  # stale throughout
    notices = [
        (now, kind)
        for now, (_, kind) in zip(moments, run_checks(observed, policy), strict=True)
        if kind
    ]
    assert [kind for _, kind in notices] == [STALE] + [REMINDER] * (len(notices) - 1)
    sent = [now for now, _ in notices]
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert all(period <= gap < period + timedelta(minutes=every) for gap in gaps)
    assert moments[-1] - sent[-1] < period + timedelta(minutes=every)  # none missed at the end


def test_undelivered_alert_is_claimed_again_only_after_the_retry_delay():
    policy = StalePolicy(STALE_AFTER, reminder=None, retry_after=timedelta(minutes=5))
    health = SheetHealth("Purchases", T0 - timedelta(hours=1), "f")
    record, notice = transition(None, health, T0, policy)
    assert notice.kind == STALE  # and Slack did not accept it: nothing recorded
    for minutes in (1, 4):
        again, notice = transition(record, health, T0 + timedelta(minutes=minutes), policy)
        assert notice is None and again.alerted_at == T0
        record = again
    record, notice = transition(record, health, T0 + timedelta(minutes=5), policy)
    assert notice.kind == STALE and record.alerted_at == T0 + timedelta(minutes=5)


def test_no_webhook_records_state_and_claims_nothing():
    policy = replace(NO_REMINDER, alerting=False)
    health = SheetHealth("Purchases", T0 - timedelta(hours=1), "f")
    record, notice = transition(None, health, T0, policy)
    assert notice is None and record.stale_since == T0 - timedelta(minutes=30)
    assert record.alerted_at is None
    # Caught up without anyone told: no recovery either.
    record, notice = transition(record, replace(health, watermark=T0), T0, policy)
    assert notice is None and record.recovered_at == T0 and record.stale_since is None


def test_watermark_is_capped_at_now_and_none_is_stale():
    health = SheetHealth("Purchases", T0 + timedelta(hours=3), "f")  # a clock ahead of ours
    record, notice = transition(None, health, T0, NO_REMINDER)
    assert record.watermark == T0 and notice is None
    record, notice = transition(None, SheetHealth("Spins Hourly", None, None, 4), T0, NO_REMINDER)
    assert notice.kind == STALE and record.stale_since == T0 and record.waiting_intervals == 4


def test_exactly_the_threshold_is_not_stale():
    assert not is_stale(T0 - STALE_AFTER, T0, STALE_AFTER)
    assert is_stale(T0 - STALE_AFTER - timedelta(seconds=1), T0, STALE_AFTER)


texts = st.text(max_size=5000)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))


@settings(max_examples=100)
@given(
    kind=st.sampled_from([STALE, REMINDER, RECOVERY]),
    sheet=st.text(min_size=1, max_size=400),
    path=st.one_of(st.none(), texts),
    watermark=st.one_of(st.none(), moments),
    since=moments,
    checked=moments,
    waiting=st.integers(0, 10**9),
    host=st.text(min_size=1, max_size=300),
    channel=st.text(max_size=300),
    held_by=st.one_of(st.none(), texts),
)
def test_source_payload_is_valid_for_any_input(
    kind, sheet, path, watermark, since, checked, waiting, host, channel, held_by
):
    notice = SourceNotice(
        kind,
        sheet,
        watermark,
        path,
        waiting,
        since,
        checked,
        STALE_AFTER,
        host,
        channel,
        timedelta(hours=6),
        held_by,
    )
    assert validate_payload(source_payload(notice)) == []


def test_source_payload_masks_secrets_and_escapes_mrkdwn(monkeypatch):
    monkeypatch.setenv(
        "PLAYSTUDIO_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/abcdef"
    )
    path = (
        "/x/<!channel>&/postgresql://u:topsecret@h/db/https://hooks.slack.com/services/T/B/abcdef"
    )
    notice = SourceNotice(
        STALE, "Purchases", T0, path, 3, T0, T0 + timedelta(hours=1), STALE_AFTER, "host"
    )
    raw = json.dumps(source_payload(notice))
    assert "topsecret" not in raw and "abcdef" not in raw
    assert "<!channel>" not in raw and "&lt;!channel&gt;&amp;" in raw


def test_duration_reads_like_a_person_says_it():
    assert [
        duration(timedelta(seconds=s)) for s in (0, 45, 60, 1500, 3600, 5100, 86_400, 97_200)
    ] == [
        "0 s",
        "45 s",
        "1 min",
        "25 min",
        "1 h",
        "1 h 25 min",
        "1 d",
        "1 d 3 h",
    ]


@pytest.fixture
def stale_after_setting() -> Iterator[callable]:
    parser = luigi.configuration.get_config()

    def set_(value: str) -> timedelta:
        parser.set("playstudio", "source_stale_after", value)
        return config.source_stale_after()

    yield set_
    parser.remove_option("playstudio", "source_stale_after")


def test_default_threshold_is_thirty_minutes():
    assert config.source_stale_after() == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 minutes", timedelta(minutes=30)),  # the documented form
        ("PT30M", timedelta(minutes=30)),
        ("2 hours", timedelta(hours=2)),
        ("1 h 30 m", timedelta(minutes=90)),
        ("1800", timedelta(minutes=30)),  # a bare number is seconds, as in Luigi
        ("P1D", timedelta(days=1)),
    ],
)
def test_threshold_reads_luigis_time_delta_forms(stale_after_setting, text, expected):
    assert stale_after_setting(text) == expected


@pytest.mark.parametrize(
    "text", ["30 months", "30 min", "thirty", "0", "-5", "", "PT", "1 hour later"]
)
def test_bad_threshold_is_one_line_naming_the_setting(stale_after_setting, text):
    with pytest.raises(config.ConfigurationError) as raised:
        stale_after_setting(text)
    message = str(raised.value)
    assert message.startswith(f"[playstudio] source_stale_after = {text!r}") and "\n" not in message


def test_no_recovery_for_an_alert_slack_never_accepted():
    health = SheetHealth("Purchases", T0 - timedelta(hours=1), "f")
    record, notice = transition(None, health, T0, NO_REMINDER)
    assert notice.kind == STALE  # claimed, never accepted
    record, notice = transition(record, replace(health, watermark=T0), T0, NO_REMINDER)
    assert notice is None and record.stale_since is None and record.recovered_at == T0
