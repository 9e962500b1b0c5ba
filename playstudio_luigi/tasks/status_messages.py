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


def summed_details(written: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """Marker details (one per interval) summed over the intervals: their integer counts, and
    how many intervals (one interval: its own details)."""
    if len(written) == 1:
        return dict(next(iter(written.values())))
    totals: dict[str, Any] = {"intervals": len(written)}
    for details in written.values():
        for key, value in details.items():
            if _is_count(value):
                totals[key] = totals.get(key, 0) + value
    return totals


def row_totals(details: Mapping[Any, Mapping[str, Any]]) -> dict[str, int]:
    """The ``*_rows`` counts of :func:`summed_details`: what :func:`rows_summary` shows of one
    family, without asking the database."""
    return {
        k: v for k, v in summed_details(details).items() if k.endswith("_rows") and _is_count(v)
    }


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rows_message(families: Sequence[str], window: Interval) -> str:
    """The rows the markers of ``families`` in ``window`` record, as :func:`rows_summary`."""
    return rows_summary(markers.row_counts(list(families), window.start, window.end))
