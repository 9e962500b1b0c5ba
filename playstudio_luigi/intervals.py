"""Interval arithmetic: every task covers a half-open UTC interval [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIVE_MINUTES = timedelta(minutes=5)
ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)


class IntervalNotClosedError(RuntimeError):
    """The interval (plus its allowed lateness) has not ended: loading it now would be partial."""

    log_traceback = False  # the message says from when it can run


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open UTC interval ``[start, end)`` of naive datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("interval bounds are naive UTC datetimes")
        if self.end <= self.start:
            raise ValueError(f"empty interval [{self.start}, {self.end})")

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M})"


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def five_minute_interval(start: datetime) -> Interval:
    """The 5-minute interval starting at ``start``, which must be aligned to 5 minutes."""
    start = _naive_utc(start)
    if start.minute % 5 or start.second or start.microsecond:
        raise ValueError(f"{start:%Y-%m-%dT%H:%M:%S} is not aligned to a 5-minute boundary")
    return Interval(start, start + FIVE_MINUTES)


def hour_interval(hour: datetime) -> Interval:
    """The hour starting at ``hour``, which must be on the hour."""
    hour = _naive_utc(hour)
    if hour.minute or hour.second or hour.microsecond:
        raise ValueError(f"{hour:%Y-%m-%dT%H:%M:%S} is not on the hour")
    return Interval(hour, hour + ONE_HOUR)


def floor_hour(moment: datetime) -> datetime:
    return _naive_utc(moment).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return _naive_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def five_minute_starts(hour: datetime) -> list[datetime]:
    """The twelve 5-minute interval starts covering ``hour``."""
    base = hour_interval(hour).start
    return [base + i * FIVE_MINUTES for i in range(12)]


def floor_to(moment: datetime, width: timedelta) -> datetime:
    """The start of the ``width``-long interval holding ``moment`` (intervals are aligned to
    ``width`` from midnight; ``width`` divides a day)."""
    moment = _naive_utc(moment)
    return moment - (moment - floor_day(moment)) % width


def hours_between(start: datetime, stop: datetime) -> list[datetime]:
    """Whole hours ``h`` with ``start <= h < stop`` (``start`` is floored to its hour)."""
    return starts_between(floor_hour(start), stop, ONE_HOUR)


def starts_between(start: datetime, stop: datetime, width: timedelta) -> list[datetime]:
    """Starts of the ``width``-long intervals lying in ``[start, stop)``, aligned to ``width``
    from midnight (``start`` is rounded up to the next boundary)."""
    start, stop = _naive_utc(start), _naive_utc(stop)
    moment = floor_to(start, width)
    if moment < start:
        moment += width
    starts = []
    while moment < stop:
        starts.append(moment)
        moment += width
    return starts


def is_closed(interval: Interval, now: datetime, allowed_lateness: timedelta) -> bool:
    """True once ``interval.end + allowed_lateness`` has passed at ``now``."""
    return _naive_utc(now) >= interval.end + allowed_lateness


def ensure_closed(
    interval: Interval, now: datetime, allowed_lateness: timedelta, what: str
) -> None:
    """Raise :class:`IntervalNotClosedError` naming ``what`` if the interval is still open."""
    if not is_closed(interval, now, allowed_lateness):
        ready = interval.end + allowed_lateness
        raise IntervalNotClosedError(
            f"{what} {interval} is not closed yet: it can be processed from "
            f"{ready:%Y-%m-%d %H:%M:%S}"
            f" UTC (interval end + allowed lateness of {allowed_lateness}); refusing a partial load"
        )


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (the convention of every timestamp here)."""
    return datetime.now(UTC).replace(tzinfo=None)
