"""Interval parameters parse strictly: the one documented form, or a one-line error naming it;
never another interval (Luigi's own took ``2022-04-01T22`` for a minute as 02:02)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playstudio_luigi import (
    DayPipeline,
    FiveMinutePipeline,
    HourlyPipeline,
    RangeByMinutes,
    RangeHourly,
)
from playstudio_luigi.tasks.parameters import (
    IntervalFormatError,
    StrictDateHourParameter,
    StrictDateMinuteParameter,
    StrictDateParameter,
)

MINUTE = StrictDateMinuteParameter(interval=5)
HOUR = StrictDateHourParameter()
DAY = StrictDateParameter()
FORMS = {
    MINUTE: r"\d{4}-\d{2}-\d{2}T\d{4}",
    HOUR: r"\d{4}-\d{2}-\d{2}T\d{2}",
    DAY: r"\d{4}-\d{2}-\d{2}",
}

moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1))


@pytest.mark.parametrize(
    ("parameter", "text", "form"),
    [
        (MINUTE, "2022-04-01T22", "YYYY-MM-DDTHHMM"),  # minutes forgotten: was 02:00
        (MINUTE, "2022-04-01T220", "YYYY-MM-DDTHHMM"),
        (MINUTE, "2022-04-01T22:05", "YYYY-MM-DDTHHMM"),
        (MINUTE, "2022-04-01T2260", "YYYY-MM-DDTHHMM"),
        (HOUR, "2022-04-01T2", "YYYY-MM-DDTHH"),  # was 02:00
        (HOUR, "2022-04-01T22:00", "YYYY-MM-DDTHH"),
        (HOUR, "2022-04-01", "YYYY-MM-DDTHH"),
        (HOUR, "2022-4-1T22", "YYYY-MM-DDTHH"),
        (DAY, "2022-04-01T00", "YYYY-MM-DD"),
    ],
)
def test_a_malformed_value_is_one_line_naming_the_form(parameter, text, form):
    with pytest.raises(IntervalFormatError) as error:
        parameter.parse(text)
    message = str(error.value)
    assert "\n" not in message and repr(text) in message and form in message
    assert error.value.log_traceback is False


@given(moments)
def test_every_value_round_trips(moment):
    minute = MINUTE.normalize(moment)
    assert MINUTE.normalize(MINUTE.parse(MINUTE.serialize(minute))) == minute
    hour = HOUR.normalize(moment)
    assert HOUR.parse(HOUR.serialize(hour)) == hour
    assert DAY.parse(DAY.serialize(moment.date())) == moment.date()


@given(moments, st.integers(min_value=0, max_value=4))
def test_minutes_off_the_boundary_round_down_as_documented(moment, offset):
    start = MINUTE.normalize(moment)
    text = (start + timedelta(minutes=offset)).strftime("%Y-%m-%dT%H%M")
    assert MINUTE.normalize(MINUTE.parse(text)) == start


@given(st.text(alphabet="0123456789-T:", max_size=16))
def test_text_off_the_form_never_parses(text):
    for parameter, form in FORMS.items():
        if not re.fullmatch(form, text):
            with pytest.raises(IntervalFormatError):
                parameter.parse(text)


def test_the_tasks_and_range_tools_use_them():
    assert isinstance(FiveMinutePipeline.interval, StrictDateMinuteParameter)
    assert isinstance(HourlyPipeline.hour, StrictDateHourParameter)
    assert isinstance(RangeHourly.start, StrictDateHourParameter)
    assert isinstance(RangeByMinutes.stop, StrictDateMinuteParameter)


def test_the_day_task_parses_its_day_strictly():
    assert DayPipeline.day.parse("2022-04-01") == date(2022, 4, 1)
    with pytest.raises(IntervalFormatError, match="is not a day like 2022-04-01"):
        DayPipeline.day.parse("2022-4-1")
