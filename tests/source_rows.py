"""Values for the synthetic export rows that tests write into their own workbooks."""

from __future__ import annotations


def tx(i: int) -> str:
    """A valid transaction id (a UUID), distinct for each ``i`` below 10**12."""
    return f"00000000-0000-4000-8000-{i:012d}"
