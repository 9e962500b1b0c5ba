"""Full refresh and targeted re-runs: removing markers (and rows) so the next run rebuilds.

Tasks replace their own interval's rows, so removing a marker is enough to have a task run
again; a full refresh also removes the rows at once, so that nothing stale is read meanwhile.
Either way it happens in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg2.extensions

from playstudio_luigi.db.connection import transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import floor_hour

PURCHASE_CHAIN = ("ExtractPurchases", "ValidatePurchases", "LoadBronzePurchases", "SilverPurchases")
SPIN_CHAIN = ("ExtractSpins", "ValidateSpins", "LoadBronzeSpins", "SilverSpins")
GOLD = ("GoldAggregate",)

LAYER_FAMILIES = {
    "bronze": PURCHASE_CHAIN + SPIN_CHAIN + GOLD,
    "silver": ("SilverPurchases", "SilverSpins", *GOLD),
    "gold": GOLD,
}


def invalidate_range(start: datetime, stop: datetime, layer: str = "bronze") -> None:
    """Remove markers and rows of ``layer`` and everything downstream, for [start, stop)."""
    if layer not in LAYER_FAMILIES:
        raise ValueError(f"--layer must be one of {', '.join(LAYER_FAMILIES)}, not {layer!r}")
    params = {"start": start, "stop": stop, "families": list(LAYER_FAMILIES[layer])}
    with transaction() as connection, connection.cursor() as cursor:
        cursor.execute(render("ops/invalidate.sql", layer=layer), params)


def forget_markers(
    cursor: psycopg2.extensions.cursor,
    purchase_intervals: Iterable[datetime],
    spin_hours: Iterable[datetime],
) -> set[datetime]:
    """Drop the markers of these intervals' chains and of their gold hours (rows stay until
    the re-run replaces them). Returns the hours to rebuild."""
    purchase_intervals, spin_hours = list(purchase_intervals), list(spin_hours)
    hours = {floor_hour(start) for start in purchase_intervals} | set(spin_hours)
    for families, starts in (
        (PURCHASE_CHAIN, purchase_intervals),
        (SPIN_CHAIN, spin_hours),
        (GOLD, sorted(hours)),
    ):
        cursor.execute(
            "delete from ops.task_markers"
            " where task_family = any(%s) and interval_start = any(%s::timestamp[])",
            (list(families), list(starts)),
        )
    return hours
