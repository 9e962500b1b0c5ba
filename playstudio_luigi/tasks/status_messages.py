"""What luigid's UI shows for a running task: a status message and a progress percentage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from playstudio_luigi.db import markers
from playstudio_luigi.intervals import Interval


def report_progress(task: Any, message: str, percent: int | None = None) -> None:
    """Show ``message`` (and a percentage) in luigid's UI, when a scheduler is listening."""
    if callable(getattr(task, "set_status_message", None)):
        task.set_status_message(message)
    if percent is not None and callable(getattr(task, "set_progress_percentage", None)):
        task.set_progress_percentage(percent)


#: Counts in the order a row travels (others after, alphabetically).
ORDER = ("source", "accepted", "bronze", "distinct", "silver", "gold", "quarantined", "warned")


def _position(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def rows_summary(counts: Mapping[str, Mapping[str, int]]) -> str:
    """``ExtractPurchases: source 1,234; LoadBronzePurchases: source 1,234, bronze 1,230, ...``
    from counts named like the markers' details (``source_rows``, ...)."""
    parts = []
    for family, rows in counts.items():
        named = sorted(
            ((key.removesuffix("_rows"), value) for key, value in rows.items()),
            key=lambda item: _position(item[0]),
        )
        parts.append(f"{family}: " + ", ".join(f"{name} {value:,}" for name, value in named))
    return "; ".join(parts) or "no rows"


def row_totals(details: Mapping[Any, Mapping[str, Any]]) -> dict[str, int]:
    """The ``*_rows`` counts of marker details (one per interval), summed: what
    :func:`rows_summary` shows of one family, without asking the database."""
    totals: dict[str, int] = {}
    for found in details.values():
        for key, value in found.items():
            if key.endswith("_rows") and isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    return totals


def rows_message(families: Sequence[str], window: Interval) -> str:
    """The rows the markers of ``families`` in ``window`` record, as :func:`rows_summary`."""
    return rows_summary(markers.row_counts(list(families), window.start, window.end))
