from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from playstudio_luigi.intervals import (
    Interval,
    IntervalNotClosedError,
    ensure_closed,
    five_minute_interval,
    five_minute_starts,
    floor_to,
    hour_interval,
    hours_between,
    is_closed,
    starts_between,
)
from playstudio_luigi.tasks.extract import slices_by_start


def test_five_minute_interval_is_half_open():
    interval = five_minute_interval(datetime(2022, 4, 1, 22, 5))
    assert interval == Interval(datetime(2022, 4, 1, 22, 5), datetime(2022, 4, 1, 22, 10))
    assert datetime(2022, 4, 1, 22, 5) in interval
    assert datetime(2022, 4, 1, 22, 9, 59) in interval
    assert datetime(2022, 4, 1, 22, 10) not in interval


def test_misaligned_starts_are_rejected():
    with pytest.raises(ValueError, match="5-minute"):
        five_minute_interval(datetime(2022, 4, 1, 22, 7))
    with pytest.raises(ValueError, match="on the hour"):
        hour_interval(datetime(2022, 4, 1, 22, 30))


def test_aware_datetimes_are_converted_to_utc():
    aware = datetime(2022, 4, 2, 0, 5, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=2))
    )
    assert five_minute_interval(aware).start == datetime(2022, 4, 2, 0, 5)


def test_twelve_intervals_tile_the_hour():
    starts = five_minute_starts(datetime(2022, 4, 1, 22))
    assert len(starts) == 12
    assert starts[0] == datetime(2022, 4, 1, 22)
    assert five_minute_interval(starts[-1]).end == hour_interval(datetime(2022, 4, 1, 22)).end


def test_hours_between_is_start_inclusive_stop_exclusive():
    assert hours_between(datetime(2022, 4, 1, 22), datetime(2022, 4, 2, 1)) == [
        datetime(2022, 4, 1, 22),
        datetime(2022, 4, 1, 23),
        datetime(2022, 4, 2, 0),
    ]
    assert hours_between(datetime(2022, 4, 1, 22), datetime(2022, 4, 1, 22)) == []


def test_closed_only_after_end_plus_lateness():
    interval = five_minute_interval(datetime(2022, 4, 1, 22, 5))
    lateness = timedelta(minutes=2)
    assert not is_closed(interval, datetime(2022, 4, 1, 22, 11, 59), lateness)
    assert is_closed(interval, datetime(2022, 4, 1, 22, 12), lateness)
    with pytest.raises(IntervalNotClosedError, match=r"not closed yet.*22:12:00"):
        ensure_closed(interval, datetime(2022, 4, 1, 22, 10), lateness, "ExtractPurchases")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_every_moment_is_in_exactly_one_five_minute_interval(moment):
    start = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    interval = five_minute_interval(start)
    assert moment in interval
    assert moment not in five_minute_interval(start + timedelta(minutes=5))
    assert moment not in five_minute_interval(start - timedelta(minutes=5))


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(min_value=0, max_value=3 * 24 * 60),
    st.sampled_from([timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)]),
)
def test_starts_between_are_the_aligned_starts_in_the_range(start, minutes, width):
    stop = start + timedelta(minutes=minutes)
    midnight = datetime(start.year, start.month, start.day) - timedelta(days=1)
    brute = [midnight + i * width for i in range(int((stop - midnight) / width) + 2)]
    assert starts_between(start, stop, width) == [s for s in brute if start <= s < stop]
    first = floor_to(start, width)
    assert first <= start < first + width and (first - midnight) % width == timedelta(0)


@given(
    seconds=st.lists(st.one_of(st.none(), st.integers(0, 3 * 3600 - 1)), max_size=60),
    width=st.sampled_from([timedelta(minutes=5), timedelta(hours=1)]),
    first=st.integers(-2, 30),
)
def test_slices_by_start_are_each_intervals_rows_in_their_order(seconds, width, first):
    base = datetime(2022, 4, 1, 22)
    times = [None if s is None else base + timedelta(seconds=s) for s in seconds]
    rows = pa.table(
        {"event_time": pa.array(times, pa.timestamp("us")), "row": list(range(len(times)))}
    )
    starts = [base + (first + i) * width for i in range(4)]
    found = slices_by_start(rows, width, starts)
    for start in starts:
        expected = [r for r, t in enumerate(times) if t is not None and start <= t < start + width]
        assert found[start]["row"].to_pylist() == expected
