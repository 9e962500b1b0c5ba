"""Keeping secrets out of output: passwords and the webhook URL never appear in messages, logs
or alerts.

:func:`redact` removes every password of a URL or a ``password=`` pair, plus every configured
secret: the webhook URL and each part of it, the password of ``PLAYSTUDIO_DSN`` in every form
libpq or a URL parser may print it (found with libpq's own parser), ``PGPASSWORD``.
:class:`RedactingFilter` applies it to log records, tracebacks included (and logs an exception
whose class sets ``log_traceback = False`` as its one-line message, without the traceback).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

# postgresql://user:password@host/db  ->  postgresql://user:***@host/db
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?=@)")
# key/value DSNs and libpq messages: password=secret (a quoted value may hold \' escapes)
_KV_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE
)

SECRET_ENVIRONMENT = ("PGPASSWORD",)
WEBHOOK_ENVIRONMENT = ("PLAYSTUDIO_SLACK_WEBHOOK_URL",)
DSN_ENVIRONMENT = ("PLAYSTUDIO_DSN", "PLAYSTUDIO_TEST_DSN")
MASK = "***"
# Shorter strings are not masked wherever they appear: they would garble every message.
MIN_SECRET = 4


def _with_encodings(values: Iterable[str | None]) -> set[str]:
    found = set()
    for value in values:
        if value:
            found |= {value, quote(value), quote(value, safe=""), quote(value, safe="@")}
    return found


def dsn_secrets(dsn: str) -> set[str]:
    """Every form in which the password of ``dsn`` may be printed: as libpq parses it, as
    written in the URL (raw and decoded), percent-encoded, and the pieces of an unencoded
    password around ``@`` (libpq ends the user info at the first ``@``, so the rest of such a
    password lands in the host name and libpq's "could not translate host name" message)."""
    pieces: list[str | None] = []
    # When libpq cannot parse it, its error quotes the bad token: covered by the URL forms.
    with contextlib.suppress(psycopg2.ProgrammingError):
        pieces.append(parse_dsn(dsn).get("password"))
    if "://" in dsn:
        parts = urlsplit(dsn)
        raw = parts.password
        if raw:
            pieces += [raw, unquote(raw), *raw.split("@"), *unquote(raw).split("@")]
        pieces += [value for key, value in parse_qsl(parts.query) if key == "password"]
    return {s for s in _with_encodings(pieces) if len(s) >= MIN_SECRET}


def webhook_secrets(url: str) -> set[str]:
    """The webhook URL and every part of it that a library may print on its own: the path
    (requests' connection errors show it), the query, each path segment after the first
    (``/services/T…/B…/token``: only ``services`` is the same for everyone) and each query
    value."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    pieces = [url, parts.path, parts.query, f"{parts.path}?{parts.query}" if parts.query else None]
    pieces += segments[1:]
    pieces += [value for _key, value in parse_qsl(parts.query)]
    pieces += [unquote(p) for p in pieces if p]
    return {s for s in _with_encodings(pieces) if len(s) >= MIN_SECRET}


def describe_dsn(dsn: str) -> str:
    """``dsn`` as shown in messages: its password masked in every form it takes."""
    if "://" not in dsn:
        try:
            params = parse_dsn(dsn)
        except psycopg2.ProgrammingError:
            return redact_dsn(dsn)
        if "password" in params:
            params["password"] = MASK
        return make_dsn(**params)
    return redact_dsn(mask(dsn, dsn_secrets(dsn)))


def redact_dsn(text: str) -> str:
    """Replace every password in URLs and ``password=`` pairs within ``text`` by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}" if m["secret"] else m[0], text)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***``, longest first (so that no
    secret is half-masked)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def configured_secrets() -> list[str]:
    """Secret strings from the environment, longest first (so no secret is half-masked)."""
    secrets = {os.environ[name] for name in SECRET_ENVIRONMENT if os.environ.get(name)}
    for name in WEBHOOK_ENVIRONMENT:
        if os.environ.get(name):
            secrets |= webhook_secrets(os.environ[name])
    for name in DSN_ENVIRONMENT:
        if os.environ.get(name):
            secrets |= dsn_secrets(os.environ[name])
    return sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret we know of (and ``extra`` ones) masked."""
    text = mask(text, [*configured_secrets(), *extra])
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
