"""Interval parameters that parse strictly: one form each, or a one-line error naming it.

Luigi's own date parameters parse with ``strptime``, which takes ``2022-04-01T22`` for
``%Y-%m-%dT%H%M`` as 02:02 (``%H`` backs off to one digit, ``%M`` takes the other) and
``2022-04-01T2`` for ``%Y-%m-%dT%H`` as 02:00: a forgotten digit silently runs another interval.
Here the text must match the form digit for digit first. Values given as ``datetime`` (from
Python) are not parsed and behave as Luigi's.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import luigi


class IntervalFormatError(ValueError):
    """A date, hour or 5-minute interval given as text is not in the expected form."""

    log_traceback = False  # the message names the value and the form (redaction.RedactingFilter)


def _strict(text: str, pattern: str, fmt: str, form: str, example: str) -> datetime:
    if re.fullmatch(pattern, text):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass  # digits in the right places, but e.g. hour 25
    raise IntervalFormatError(f"{text!r} is not {form} like {example} ({fmt_label(fmt)})")


def fmt_label(fmt: str) -> str:
    """``%Y-%m-%dT%H%M`` as ``YYYY-MM-DDTHHMM``."""
    return (
        fmt.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "HH")
        .replace("%M", "MM")
    )


#: The text forms, each with the exact shape it must have, what it is and an example.
DAY = (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d", "a day", "2022-04-01")
HOUR = (r"\d{4}-\d{2}-\d{2}T\d{2}", "%Y-%m-%dT%H", "an hour", "2022-04-01T22")
MINUTE = (r"\d{4}-\d{2}-\d{2}T\d{4}", "%Y-%m-%dT%H%M", "a minute", "2022-04-01T2205")


def parse_moment(text: str) -> datetime:
    """An hour, a minute or a day (midnight) as text, strictly: how the CLI's ``--start`` and
    ``--stop`` are given. :class:`IntervalFormatError` names the forms otherwise."""
    for pattern, fmt, form, example in (HOUR, MINUTE, DAY):
        if re.fullmatch(pattern, text):
            return _strict(text, pattern, fmt, form, example)
    raise IntervalFormatError(f"{text!r} is not an hour like 2022-04-01T22 (or a day, or a minute)")


class StrictDateParameter(luigi.DateParameter):
    """A UTC day, ``YYYY-MM-DD`` exactly."""

    def parse(self, s: str) -> date:
        pattern, _, form, example = DAY
        return _strict(s, pattern, self.date_format, form, example).date()


class StrictDateHourParameter(luigi.DateHourParameter):
    """A UTC hour, ``YYYY-MM-DDTHH`` exactly."""

    def parse(self, s: str) -> datetime:
        pattern, _, form, example = HOUR
        return _strict(s, pattern, self.date_format, form, example)


class StrictDateMinuteParameter(luigi.DateMinuteParameter):
    """A UTC minute, ``YYYY-MM-DDTHHMM`` exactly (then rounded down to ``interval`` minutes,
    as Luigi's :class:`~luigi.DateMinuteParameter` does)."""

    def parse(self, s: str) -> datetime:
        pattern, _, form, example = MINUTE
        return _strict(s, pattern, self.date_format, form, example)
