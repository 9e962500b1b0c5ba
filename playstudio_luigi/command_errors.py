"""Errors of the ``luigi`` command that say it all, as one line.

Luigi logs any exception raised before its worker runs (a task parameter that does not parse,
say) as ``Uncaught exception in luigi`` plus the traceback. For an error whose class sets
``log_traceback = False`` (its message names the value and what was expected), the record
becomes that one line; any other error keeps its traceback. Tasks' own failures are made one
line by :class:`playstudio_luigi.redaction.RedactingFilter`.
"""

from __future__ import annotations

import logging

UNCAUGHT = "Uncaught exception in luigi"


class OneLineUncaughtFilter(logging.Filter):
    """Turns Luigi's "uncaught exception" record of a self-explaining error into its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.msg == UNCAUGHT and not getattr(error, "log_traceback", True):
            record.msg, record.args = f"{type(error).__name__}: {error}", None
            record.exc_info, record.exc_text = None, None
        return True


def install(logger_name: str = "luigi-interface") -> None:
    """Put :class:`OneLineUncaughtFilter` first on Luigi's logger (idempotent): before the
    redaction filter, which formats the traceback away."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, OneLineUncaughtFilter) for f in logger.filters):
        logger.filters.insert(0, OneLineUncaughtFilter())
