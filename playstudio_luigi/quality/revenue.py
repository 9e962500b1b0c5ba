"""Parsing the source's revenue strings such as ``PriceInUSD=4.99``."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

# The currency is part of the key; the amount is a plain decimal with at most two places.
REVENUE_PATTERN = r"^\s*PriceIn(?P<currency>[A-Z]{3})=(?P<amount>[0-9]+(?:\.[0-9]{1,2})?)\s*$"
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
