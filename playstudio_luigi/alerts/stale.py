"""Stale source (DESIGN 3.3, 7): the feed's health per sheet, kept in the warehouse, and the
Slack alerts it calls for.

A sheet is **stale** when its watermark (the newest export's mtime, capped at now) lags now by
more than ``[playstudio] source_stale_after``, or when no export holds it. A stale episode gets
one alert, a reminder every ``[slack] stale_reminder_hours`` while it lasts, and one recovery
message when the sheet catches up.

Every run that computes watermarks reports them (:func:`report_source_health`), and many do at
once: cron every 5 minutes, backfills, several machines. Who sends what is decided in one
transaction under the sheet's row lock in ``ops.source_health`` (lock, decide, write: no
read-then-write race), and the messages are posted after the commit, so a slow webhook holds no
lock and stalls no other run. A claimed alert that Slack did not accept is claimed again by a
run at least :attr:`StalePolicy.retry_after` later; a recovery is sent once, and only after a
stale alert Slack accepted. No webhook URL: the state is recorded, nothing is sent.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta

import psycopg2.extensions

from playstudio_luigi import config
from playstudio_luigi.alerts.config import slack, webhook_url
from playstudio_luigi.alerts.message import (
    RECOVERY,
    REMINDER,
    STALE,
    SourceNotice,
    duration,
    source_payload,
)
from playstudio_luigi.alerts.webhook import post
from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import utcnow
from playstudio_luigi.redaction import redact

logger = logging.getLogger("playstudio_luigi.alerts")

#: A claimed alert is claimed again (Slack did not accept it, or its sender died) no sooner
#: than this, and never while its first sender may still be posting (``[slack] max_seconds``).
MIN_RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class SheetHealth:
    """What one run saw of one sheet of the source."""

    #: The sheet's name as in ``source/schema.py`` (``Purchases``, ``Spins Hourly``).
    sheet: str
    #: Naive UTC; ``None``: no export file holds the sheet.
    watermark: datetime | None
    #: Path of the newest export holding the sheet.
    newest_file: str | None
    #: Intervals of the sheet known to wait for the export (0 if unknown).
    waiting_intervals: int = 0
    #: An unreadable export whose mtime holds the watermark back (``Watermark.held_by``).
    held_by: str | None = None


@dataclass(frozen=True)
class HealthRecord:
    """One row of ``ops.source_health`` (its columns, in order)."""

    sheet: str
    watermark: datetime | None
    newest_file: str | None
    waiting_intervals: int
    checked_at: datetime
    stale_since: datetime | None = None
    alerted_at: datetime | None = None
    alert_delivered_at: datetime | None = None
    recovered_at: datetime | None = None
    held_by: str | None = None

    @property
    def stale(self) -> bool:
        return self.stale_since is not None


@dataclass(frozen=True)
class StalePolicy:
    stale_after: timedelta
    #: Repeat the alert this often while an episode lasts; ``None``: never.
    reminder: timedelta | None
    retry_after: timedelta = MIN_RETRY_AFTER
    #: A webhook URL is configured: alerts are claimed (without one, state only).
    alerting: bool = True

    @classmethod
    def from_config(cls) -> StalePolicy:
        settings = slack()
        hours = settings.stale_reminder_hours
        if hours < 0:
            raise config.ConfigurationError("[slack] stale_reminder_hours must be >= 0")
        return cls(
            stale_after=config.source_stale_after(),
            reminder=timedelta(hours=hours) if hours else None,
            retry_after=max(MIN_RETRY_AFTER, timedelta(seconds=2 * settings.max_seconds)),
            alerting=webhook_url() is not None,
        )


@dataclass(frozen=True)
class Notice:
    """An alert this caller claimed and must send: ``kind`` is ``stale``, ``reminder`` or
    ``recovery``; ``record`` the sheet's state after the check; ``since`` the episode's start."""

    kind: str
    record: HealthRecord
    since: datetime


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def is_stale(watermark: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    """True when no export holds the sheet or the newest one is more than ``stale_after`` old."""
    return watermark is None or now - watermark > stale_after


def transition(
    previous: HealthRecord | None, observed: SheetHealth, now: datetime, policy: StalePolicy
) -> tuple[HealthRecord, Notice | None]:
    """The sheet's next state, and the notice it calls for (if any).

    Pure: the database decides who calls it (the row lock), this decides what happens. An
    observation older than the recorded one (a long backfill reporting its start-time clock)
    changes nothing.
    """
    if previous is not None and previous.checked_at > now:
        return previous, None
    watermark = None if observed.watermark is None else min(observed.watermark, now)
    fresh = HealthRecord(
        observed.sheet,
        watermark,
        observed.newest_file,
        max(0, observed.waiting_intervals),
        checked_at=now,
        recovered_at=previous.recovered_at if previous else None,
        held_by=observed.held_by,
    )
    episode = previous if previous is not None and previous.stale else None
    if not is_stale(watermark, now, policy.stale_after):
        if episode is None:
            return fresh, None
        record = replace(fresh, recovered_at=now)
        told = episode.alert_delivered_at is not None and policy.alerting
        return record, Notice(RECOVERY, record, episode.stale_since) if told else None

    since = (
        episode.stale_since
        if episode is not None
        else (watermark + policy.stale_after if watermark is not None else now)
    )
    alerted = episode.alerted_at if episode else None
    delivered = episode.alert_delivered_at if episode else None
    kind = None
    if policy.alerting:
        if alerted is None or (delivered is None and now - alerted >= policy.retry_after):
            kind = STALE
        elif delivered is not None and policy.reminder and now - alerted >= policy.reminder:
            kind = REMINDER
    record = replace(
        fresh,
        stale_since=since,
        alerted_at=now if kind else alerted,
        alert_delivered_at=delivered,
    )
    return record, Notice(kind, record, since) if kind else None


def _normalised(health: Sequence[SheetHealth]) -> list[SheetHealth]:
    """``health`` with naive UTC watermarks; a sheet reported twice is a caller's bug."""
    sheets = [item.sheet for item in health]
    if len(set(sheets)) != len(sheets):
        raise ValueError(f"a sheet is reported twice in one source health check: {sheets}")
    return [
        replace(item, watermark=naive_utc(item.watermark)) if item.watermark else item
        for item in health
    ]


def _records(cursor: psycopg2.extensions.cursor) -> list[HealthRecord]:
    return [HealthRecord(*row) for row in cursor.fetchall()]


def record_source_health(
    cursor: psycopg2.extensions.cursor,
    health: Sequence[SheetHealth],
    now: datetime,
    policy: StalePolicy | None = None,
) -> list[Notice]:
    """Store the sheets' health in the caller's transaction and claim the alerts due.

    The rows are locked (in sheet order, so concurrent callers cannot deadlock) until the
    caller commits: another caller waits, then sees this one's decision. Send the returned
    notices with :func:`deliver` *after* committing (a rolled-back claim must not have been
    sent, and a slow webhook must not hold the lock).
    """
    policy = policy or StalePolicy.from_config()
    now = naive_utc(now)
    by_sheet = {item.sheet: item for item in _normalised(health)}
    if not by_sheet:
        return []
    sheets = sorted(by_sheet)
    cursor.execute(render("ops/source_health_rows.sql"), {"sheets": sheets, "now": now})
    cursor.execute(render("ops/source_health_lock.sql"), {"sheets": sheets})
    previous = {record.sheet: record for record in _records(cursor)}
    notices = []
    for sheet in sheets:
        before = previous[sheet]
        record, notice = transition(before, by_sheet[sheet], now, policy)
        if record != before:
            cursor.execute(render("ops/source_health_update.sql"), asdict(record))
        if notice is not None:
            notices.append(notice)
    return notices


def read_source_health(cursor: psycopg2.extensions.cursor) -> list[HealthRecord]:
    """Every sheet's stored health, by sheet (an empty list before any run reported one)."""
    cursor.execute(render("reports/source_health.sql"))
    return _records(cursor)


def source_notice(notice: Notice, policy: StalePolicy, host: str | None = None) -> SourceNotice:
    """What the message of ``notice`` says."""
    record = notice.record
    return SourceNotice(
        kind=notice.kind,
        sheet=record.sheet,
        watermark=record.watermark,
        newest_file=record.newest_file,
        waiting_intervals=record.waiting_intervals,
        stale_since=notice.since,
        checked_at=record.checked_at,
        stale_after=policy.stale_after,
        host=host or socket.gethostname(),
        channel=slack().channel,
        reminder=policy.reminder,
        held_by=record.held_by,
    )


def deliver(notices: Sequence[Notice], policy: StalePolicy | None = None) -> int:
    """Post ``notices`` (claimed by :func:`record_source_health`, committed) and record which
    stale alerts Slack accepted; return how many it accepted. Never raises."""
    if not notices:
        return 0
    accepted = 0
    try:
        policy = policy or StalePolicy.from_config()
        for notice in notices:
            if not post(source_payload(source_notice(notice, policy))):
                continue  # the webhook module logged why; a stale alert is claimed again later
            accepted += 1
            if notice.kind != RECOVERY:
                with transaction() as connection, connection.cursor() as cursor:
                    cursor.execute(
                        render("ops/source_health_delivered.sql"),
                        {"sheet": notice.record.sheet, "claimed_at": notice.record.alerted_at},
                    )
    except Exception as exc:
        logger.warning(
            "could not send a stale-source alert: %s", redact(f"{type(exc).__name__}: {exc}")
        )
    return accepted


def report_source_health(
    health: Sequence[SheetHealth], now: datetime | None = None
) -> list[Notice]:
    """Record the health of the source's sheets (own transaction), log each stale one, and send
    the alerts due: what every run that computes watermarks calls. Returns the notices this
    call claimed. Database and configuration errors raise; the webhook never does."""
    now = naive_utc(now) if now is not None else utcnow()
    health = _normalised(health)
    policy = StalePolicy.from_config()
    with transaction() as connection, connection.cursor() as cursor:
        notices = record_source_health(cursor, health, now, policy)
    for item in health:
        if is_stale(item.watermark, now, policy.stale_after):
            logger.warning("source stale: %s", _stale_line(item, now, policy.stale_after))
    deliver(notices, policy)
    return notices


def _stale_line(item: SheetHealth, now: datetime, stale_after: timedelta) -> str:
    if item.watermark is None:
        newest = "no export holds it"
    else:
        age = duration(now - item.watermark)
        newest = f"newest export written {item.watermark:%Y-%m-%d %H:%M:%S} UTC, {age} ago"
    if item.held_by:
        newest += f", held back by {item.held_by}, which cannot be read"
    return (
        f"{item.sheet} ({newest}; more than {duration(stale_after)}); "
        f"{item.waiting_intervals} interval(s) wait"
    )
