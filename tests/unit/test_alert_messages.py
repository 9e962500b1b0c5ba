"""Alert payloads: Slack's limits hold for any input, secrets never survive, storms are bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from playstudio_luigi.alerts.handlers import _width
from playstudio_luigi.alerts.message import (
    Failure,
    collapse,
    digest_payload,
    failure_payload,
    validate_payload,
)
from playstudio_luigi.alerts.throttle import AlertThrottle
from playstudio_luigi.redaction import redact, redact_dsn

texts = st.text(min_size=0, max_size=30_000)


@settings(max_examples=60, deadline=None)
@given(message=texts, trace=texts, family=st.text(min_size=1, max_size=400), n=st.integers(0, 5))
def test_failure_payload_is_valid_for_any_input(message, trace, family, n):
    failure = Failure(
        event="FAILURE",
        task_family=family,
        interval="2022-04-01T22:05",
        host="worker-1",
        error_type="RuntimeError",
        error_message=message,
        traceback=trace,
        rerun="luigi --module playstudio_luigi X --interval 2022-04-01T2205",
        counts={f"count_{i}": i for i in range(n)},
    )
    assert validate_payload(failure_payload(failure)) == []


@settings(max_examples=30, deadline=None)
@given(
    failures=st.lists(st.tuples(st.sampled_from(["a", "b"]), texts), max_size=300),
    extra=st.integers(0, 10_000),
)
def test_digest_payload_is_valid_for_any_input(failures, extra):
    payload = digest_payload("FAILURE:X", failures, len(failures) + extra, "host")
    assert validate_payload(payload) == []


def test_secrets_are_masked_before_clipping(monkeypatch):
    monkeypatch.setenv(
        "PLAYSTUDIO_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/abcdef"
    )
    monkeypatch.setenv("PLAYSTUDIO_DSN", "postgresql://app:p%40ss-word@db/warehouse")
    message = (
        "x" * 2990
        + " postgresql://u:topsecret@h/db https://hooks.slack.com/services/T/B/abcdef p@ss-word"
    )
    payload = json.dumps(failure_payload(Failure("FAILURE", "T", "i", "h", "E", message)))
    for secret in ("topsecret", "abcdef", "p@ss-word", "p%40ss-word"):
        assert secret not in payload


def test_redact_dsn_forms():
    assert redact_dsn("postgresql://u:s3cr@t@h:5/d") == "postgresql://u:***@h:5/d"
    assert redact_dsn("host=x password='a b' port=1") == "host=x password=*** port=1"
    assert redact_dsn("postgresql://postgres@/x?host=/tmp") == "postgresql://postgres@/x?host=/tmp"
    assert redact("nothing secret here") == "nothing secret here"


def test_collapse_names_every_interval():
    labels = [f"2022-04-01T{h:02d}:{m:02d}" for h in range(2) for m in range(0, 60, 5)]
    assert collapse(labels) == "2022-04-01T00:00 … 2022-04-01T01:55 (24)"
    gap = [label for label in labels if label != "2022-04-01T00:30"]
    assert collapse(gap) == (
        "2022-04-01T00:00 … 2022-04-01T00:25 (6), 2022-04-01T00:35 … 2022-04-01T01:55 (17)"
    )
    assert collapse(["b", "a"]) == "a, b"


def _expand(collapsed: str, step: timedelta) -> list[str]:
    """The labels ``collapse`` output stands for; a run ``a … b (n)`` must be n labels apart
    by ``step`` from a to b."""
    labels = []
    for part in collapsed.split(", "):
        first, _, rest = part.partition(" … ")
        count = int(rest.partition(" (")[2].rstrip(")")) if rest else 1
        moments = [datetime.fromisoformat(first) + i * step for i in range(count)]
        assert not rest or f"{moments[-1]:%Y-%m-%dT%H:%M}" == rest.partition(" (")[0], part
        labels += [f"{moment:%Y-%m-%dT%H:%M}" for moment in moments]
    return labels


@given(
    offsets=st.sets(st.integers(0, 300), min_size=1, max_size=60), minutes=st.sampled_from([5, 60])
)
def test_collapse_joins_exactly_the_consecutive_intervals(offsets, minutes):
    step = timedelta(minutes=minutes)
    labels = [f"{datetime(2022, 4, 1) + i * step:%Y-%m-%dT%H:%M}" for i in offsets]
    shown = collapse(labels, step)
    assert _expand(shown, step) == sorted(labels)
    runs = sum(1 for i in offsets if i - 1 not in offsets)  # maximal runs of neighbours
    assert len(shown.split(", ")) == runs, shown


def test_collapse_never_joins_what_a_done_interval_separates():
    # `status` printed "missing 25: ... 2022-04-01T22:00 … 2022-04-02T00:00 (2)" with 23:00 done.
    hours = ["2022-04-01T20:00", "2022-04-01T21:00", "2022-04-01T23:00", "2022-04-02T01:00"]
    expected = "2022-04-01T20:00 … 2022-04-01T21:00 (2), 2022-04-01T23:00, 2022-04-02T01:00"
    assert collapse(hours) == collapse(hours, timedelta(hours=1)) == expected
    # Every other 5-minute interval failed: no two are consecutive, the width says so.
    alternate = ["2022-04-01T22:05", "2022-04-01T22:15", "2022-04-01T22:25"]
    assert collapse(alternate, timedelta(minutes=5)) == ", ".join(alternate)
    digest = digest_payload(
        "FAILURE:ExtractPurchases",
        [(i, "boom") for i in alternate],
        3,
        "h",
        step=_width("FAILURE:ExtractPurchases"),
    )
    assert ", ".join(alternate) in json.dumps(digest, ensure_ascii=False)
    assert _width("FAILURE:GoldAggregate") == timedelta(hours=1)
    assert _width("FAILURE:NoSuchTask") is None


def test_throttle_sends_first_then_one_digest_per_interval(tmp_path: Path):
    throttle = AlertThrottle(tmp_path / "state.json", min_interval=3600)
    decisions = [throttle.record("F", f"i{n}", "boom", now=1000 + n).send_now for n in range(100)]
    assert decisions == [True] + [False] * 99
    due = throttle.take_digests(now=2000)
    assert [(family, len(failures), total) for family, failures, total in due] == [("F", 99, 99)]
    # New failures right after a digest wait for the next window...
    assert not throttle.record("F", "i100", "boom", now=2001).send_now
    assert throttle.take_digests(now=2002) == []
    # ...and go out once it has passed.
    assert [total for _, _, total in throttle.take_digests(now=2000 + 3600)] == [1]
    assert throttle.record("F", "i101", "boom", now=2000 + 7201).send_now
