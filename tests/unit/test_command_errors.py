"""Luigi's "Uncaught exception" record: one line for an error that says it all, the traceback
for anything else."""

from __future__ import annotations

import logging
import sys

from playstudio_luigi.command_errors import UNCAUGHT, OneLineUncaughtFilter
from playstudio_luigi.tasks.parameters import IntervalFormatError


def uncaught(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except Exception:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "luigi-interface", logging.ERROR, __file__, 1, UNCAUGHT, None, exc_info
    )


def test_a_self_explaining_error_becomes_its_line():
    record = uncaught(IntervalFormatError("'x' is not an hour"))
    assert OneLineUncaughtFilter().filter(record)
    assert logging.Formatter("%(message)s").format(record) == (
        "IntervalFormatError: 'x' is not an hour"
    )


def test_an_unexpected_error_keeps_its_traceback():
    record = uncaught(ZeroDivisionError("division by zero"))
    assert OneLineUncaughtFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert text.startswith(UNCAUGHT) and "Traceback (most recent call last)" in text
