"""Keeping secrets out of output: passwords and the webhook URL never appear in messages, logs
or alerts.

:func:`redact` removes every password of a URL or a ``password=`` pair, plus every configured
secret (the webhook URL, the password of ``PLAYSTUDIO_DSN``, ``PGPASSWORD``).
:class:`RedactingFilter` applies it to log records, tracebacks included (and logs an exception
whose class sets ``log_traceback = False`` as its one-line message, without the traceback).
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import unquote, urlsplit

# postgresql://user:password@host/db  ->  postgresql://user:***@host/db
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?=@)")
# key/value DSNs and libpq messages: password=secret
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|\S+)", re.IGNORECASE)

SECRET_ENVIRONMENT = ("PLAYSTUDIO_SLACK_WEBHOOK_URL", "PGPASSWORD")
DSN_ENVIRONMENT = ("PLAYSTUDIO_DSN", "PLAYSTUDIO_TEST_DSN")
MASK = "***"


def redact_dsn(text: str) -> str:
    """Replace every password in URLs and ``password=`` pairs within ``text`` by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}" if m["secret"] else m[0], text)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def configured_secrets() -> list[str]:
    """Secret strings from the environment, longest first (so no secret is half-masked)."""
    secrets = [os.environ[name] for name in SECRET_ENVIRONMENT if os.environ.get(name)]
    for name in DSN_ENVIRONMENT:
        dsn = os.environ.get(name)
        if dsn:
            password = urlsplit(dsn).password if "://" in dsn else None
            if password:
                secrets += [password, unquote(password)]
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every secret we know of masked."""
    for secret in configured_secrets():
        text = text.replace(secret, MASK)
    return redact_dsn(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info:
            error = record.exc_info[1]
            if getattr(error, "log_traceback", True):
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            else:  # an error whose message says it all (e.g. the database is down): one line
                record.exc_text = redact(f"{type(error).__name__}: {error}")
            record.exc_info = None
        return True


def install_log_redaction(logger_names: tuple[str, ...] = ("luigi-interface", "luigi")) -> None:
    """Attach :class:`RedactingFilter` to Luigi's loggers and ours (idempotent)."""
    for name in (*logger_names, "playstudio_luigi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
