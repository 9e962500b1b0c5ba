"""A short, human-readable summary of the gold table (printed by ``playstudio-luigi demo``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg2.extensions

from playstudio_luigi.db.sql import render


@dataclass(frozen=True)
class GoldSummary:
    rows: int
    hours: int
    users: int
    first_hour: datetime | None
    last_hour: datetime | None
    revenue: Decimal
    purchases: int
    spins: int
    quarantined_rows: int
    revenue_by_country: list[tuple[str, Decimal]]

    def render(self) -> str:
        if not self.rows:
            return "gold.aggregated_final_table is empty for this range"
        countries = ", ".join(f"{c} {r:,.2f}" for c, r in self.revenue_by_country)
        return "\n".join(
            [
                f"gold.aggregated_final_table: {self.rows:,} rows, {self.hours} hours "
                f"({self.first_hour:%Y-%m-%d %H:00} .. {self.last_hour:%Y-%m-%d %H:00} UTC), "
                f"{self.users} users",
                f"revenue: {self.revenue:,.2f} USD in {self.purchases:,} purchases; "
                f"spins: {self.spins:,}",
                f"revenue by country: {countries}",
                f"quarantined source rows: {self.quarantined_rows:,}",
            ]
        )


def gold_summary(
    connection: psycopg2.extensions.connection, start: datetime, stop: datetime
) -> GoldSummary:
    """Summarise gold rows with ``start <= app_hour < stop``."""
    params = {"start": start, "stop": stop}
    with connection.cursor() as cursor:
        cursor.execute(render("reports/gold_summary.sql"), params)
        rows, hours, users, first, last, revenue, purchases, spins, quarantined = cursor.fetchone()
        cursor.execute(render("reports/revenue_by_country.sql"), params)
        by_country = [(country, amount) for country, amount in cursor.fetchall()]
    return GoldSummary(
        rows, hours, users, first, last, revenue, purchases, spins, quarantined, by_country
    )
