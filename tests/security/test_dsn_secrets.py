"""DSN passwords: whatever their characters, no piece of them shows in the error of a failed
connection (libpq's own message included), in the DSN shown beside it, or in a log record.

Real libpq: each DSN below really fails to connect (no such socket, no such host, a DSN libpq
refuses), the way an operator's typo would.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db.connection import DatabaseUnavailableError
from playstudio_luigi.redaction import RedactingFilter, describe_dsn, redact

NASTY = "pa ss\"w@rd%20 x'Tail"


def pieces(password: str) -> list[str]:
    """The password and every piece of it an error could quote on its own."""
    found = {password, quote(password, safe="")}
    found |= {p for p in re.split(r"[\s@%'\"\\]", password) if len(p) >= 4}
    return sorted(found, key=len, reverse=True)


def kv(password: str) -> str:
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    return f"host=/nonexistent-playstudio port=5432 dbname=x user=u password='{escaped}'"


CASES = {
    "key=value, quotes and escapes": (kv(NASTY), NASTY),
    "URL, unencoded @ (the rest lands in the host name)": (
        "postgresql://u:pa@SecretTail@127.0.0.1:1/db?connect_timeout=3",
        "pa@SecretTail",
    ),
    "URL, unencoded %": ("postgresql://u:pa%ZZSecretPct@localhost:1/db", "pa%ZZSecretPct"),
    "URL, quotes": (
        "postgresql://u:pa\"Quote'Secret@/db?host=/nonexistent-playstudio",
        "pa\"Quote'Secret",
    ),
    "URL, password in the query": (
        "postgresql://u@/db?host=/nonexistent-playstudio&password=Query%40Secret",
        "Query@Secret",
    ),
}


def failure_text(dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The error of connecting with ``dsn`` as ``PLAYSTUDIO_DSN``, and as Luigi would log it."""
    monkeypatch.setenv("PLAYSTUDIO_DSN", dsn)
    db_connection.reset()
    with pytest.raises(DatabaseUnavailableError) as caught:
        db_connection.connect()
    record = logging.LogRecord("luigi-interface", logging.ERROR, __file__, 1, "%s", (dsn,), None)
    record.exc_info = (type(caught.value), caught.value, caught.value.__traceback__)
    RedactingFilter().filter(record)
    return f"{caught.value}\n{record.getMessage()}\n{record.exc_text}"


@pytest.mark.parametrize("case", CASES)
def test_no_piece_of_the_password_in_connection_errors(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, password = CASES[case]
    text = failure_text(dsn, monkeypatch)
    assert "cannot connect to PostgreSQL at" in text
    for piece in pieces(password):
        assert piece not in text, f"{piece!r} in {text!r}"
    db_connection.reset()


@given(
    password=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=8, max_size=24
    )
)
def test_any_key_value_password_is_masked_in_the_dsn_shown(password: str) -> None:
    dsn = kv(password)
    shown = describe_dsn(dsn)
    assert "password=***" in shown
    assert password not in shown
    saved = os.environ.get("PLAYSTUDIO_DSN")
    os.environ["PLAYSTUDIO_DSN"] = dsn  # configured: masked in any message, DSN or not
    try:
        assert password not in redact(f"the server said: {password} is wrong")
    finally:
        if saved is None:
            del os.environ["PLAYSTUDIO_DSN"]
        else:
            os.environ["PLAYSTUDIO_DSN"] = saved
