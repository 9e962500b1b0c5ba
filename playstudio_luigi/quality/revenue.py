"""Parsing the source's revenue strings such as ``PriceInUSD=4.99``.

The format is defined once, here, from its two parts; Python (``REVENUE_PATTERN``, with named
groups) and PostgreSQL (``SQL_REVENUE_PATTERN``, a POSIX regular expression bound as a parameter
of ``sql/silver/silver_purchases.sql``) both use a pattern derived from it.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

# The currency is part of the key; the amount is a plain decimal with at most two places.
_CURRENCY = r"[A-Z]{3}"
_AMOUNT = r"[0-9]+(?:\.[0-9]{1,2})?"


def _revenue_pattern(currency: str, amount: str) -> str:
    """The whole revenue string, surrounding blanks allowed, with the two parts as given."""
    return rf"^\s*PriceIn{currency}={amount}\s*$"


REVENUE_PATTERN = _revenue_pattern(f"(?P<currency>{_CURRENCY})", f"(?P<amount>{_AMOUNT})")
#: The same format for PostgreSQL's ``~``, without capture groups (named groups are
#: Python-only; ``(?:...)`` and ``\s`` are valid in PostgreSQL AREs). A match without captures
#: stays on the regex engine's fast path; the amount is then what follows the format's one
#: ``=`` (``sql/silver/_revenue_amount.sql``): a third of the time of ``substring(text from
#: pattern)`` with a capture group (BENCHMARKS.md, 2026-12-04).
SQL_REVENUE_PATTERN = _revenue_pattern(_CURRENCY, _AMOUNT)
_REVENUE_RE = re.compile(REVENUE_PATTERN)


def parse_revenue(text: str) -> tuple[str, Decimal]:
    """Return ``(currency, amount)`` for a revenue string, or raise ``ValueError`` saying why."""
    match = _REVENUE_RE.match(text)
    if match is None:
        raise ValueError(
            f"revenue {text!r} is not of the form PriceIn<CUR>=<amount> with at most 2 decimals"
        )
    return match["currency"], Decimal(match["amount"])


def split_revenue(values: pa.Array) -> pa.StructArray:
    """Vectorised :func:`parse_revenue`: a struct array of ``currency`` and ``amount`` (text),
    null where the string does not match."""
    return pc.extract_regex(values, REVENUE_PATTERN)
