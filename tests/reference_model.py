"""An independent model of the business rules (DESIGN.md §4), in plain pandas.

It reads the workbook with openpyxl (not the pipeline's fastexcel reader) and shares no code
with the pipeline, so agreement between the two is evidence, not tautology.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pandas as pd

REVENUE = re.compile(r"^PriceInUSD=(\d+(?:\.\d{1,2})?)$")


def _sheet(path: Path, name: str, columns: list[str]) -> pd.DataFrame:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = workbook[name].iter_rows(values_only=True)
    header = [str(h).strip() for h in next(rows)]
    index = [header.index(c) for c in columns]
    data = [[row[i] if i < len(row) else None for i in index] for row in rows]
    workbook.close()
    frame = pd.DataFrame(data, columns=columns)
    return frame.dropna(how="all")


def gold_reference(path: Path) -> pd.DataFrame:
    purchases = _sheet(path, "Purchases", ["date", "userId", "revenue", "transaction_id"])
    purchases["date"] = pd.to_datetime(purchases["date"]).dt.round("s")
    purchases["amount"] = purchases["revenue"].map(lambda t: Decimal(REVENUE.match(t)[1]))
    purchases = purchases.sort_values("date", kind="stable").drop_duplicates("transaction_id")
    purchases["app_hour"] = purchases["date"].dt.floor("h")
    purchases["day"] = purchases["date"].dt.floor("D")

    spins = _sheet(path, "Spins Hourly", ["date", "userId", "country", "total_spins"])
    spins = spins.dropna(subset=["date"])
    spins["app_hour"] = pd.to_datetime(spins["date"]).dt.floor("h")
    spins["spins"] = spins["total_spins"].map(lambda v: Decimal(repr(float(v))))

    per_country = spins.groupby(["app_hour", "userId", "country"], as_index=False)["spins"].sum()
    top = (
        per_country.assign(neg=lambda f: -f["spins"].map(float))
        .sort_values(["app_hour", "userId", "neg", "country"])
        .drop_duplicates(["app_hour", "userId"])[["app_hour", "userId", "country"]]
    )
    spin_totals = per_country.groupby(["app_hour", "userId"], as_index=False)["spins"].sum()
    buys = purchases.groupby(["app_hour", "userId"], as_index=False).agg(
        revenue=("amount", "sum"), purchases=("amount", "size")
    )
    daily = purchases.groupby(["day", "userId"], as_index=False)["amount"].sum()

    gold = spin_totals.merge(buys, on=["app_hour", "userId"], how="outer")
    gold = gold.merge(top, on=["app_hour", "userId"], how="left")
    gold["day"] = gold["app_hour"].dt.floor("D")
    gold = gold.merge(daily.rename(columns={"amount": "daily"}), on=["day", "userId"], how="left")

    zero = Decimal("0")
    records = []
    for row in gold.itertuples(index=False):
        spins_sum = row.spins if isinstance(row.spins, Decimal) else zero
        revenue = row.revenue if isinstance(row.revenue, Decimal) else zero
        count = 0 if pd.isna(row.purchases) else int(row.purchases)
        records.append(
            {
                "app_hour": row.app_hour.to_pydatetime(),
                "user_id": row.userId,
                "country": row.country if isinstance(row.country, str) else "UNKNOWN",
                "total_spins_hourly": int(spins_sum.quantize(Decimal(1), ROUND_HALF_UP)),
                "total_revenue_hourly": revenue.quantize(Decimal("0.01")),
                "amount_purchases_hourly": count,
                "avg_revenue_per_purchase_hourly": (revenue / count) if count else zero,
                "total_revenue_per_user_daily": (
                    row.daily if isinstance(row.daily, Decimal) else zero
                ).quantize(Decimal("0.01")),
            }
        )
    return pd.DataFrame(records).sort_values(["app_hour", "user_id"]).reset_index(drop=True)


def first_copies(copies) -> dict[str, tuple]:
    """Silver purchases by the rule of DESIGN 3.1, in plain Python, from bronze rows (objects
    with ``transaction_id``, ``event_time``, ``user_id``, ``revenue``, ``source_path``,
    ``source_row``, ``source_sha256`` and ``interval_start``): per id (trimmed, lower case) the
    first copy by (event time, file, row, file version) wins; copies with its event time, user
    and revenue (trimmed) are exact duplicates and counted; any other copy is a conflicting
    duplicate and left out. Id -> the silver row's values (``tests/bronze_loads.SILVER_COLUMNS``).
    """
    by_id: dict[str, list] = {}
    for copy in copies:
        by_id.setdefault(copy.transaction_id.strip().lower(), []).append(copy)

    def order(c) -> tuple:
        return (c.event_time, c.source_path, c.source_row, c.source_sha256)

    def content(c) -> tuple:
        return (c.event_time, c.user_id.strip(), c.revenue.strip())

    rows = {}
    for key, found in by_id.items():
        first = min(found, key=order)
        rows[key] = (
            key,
            first.event_time,
            first.event_time.replace(minute=0, second=0, microsecond=0),
            first.interval_start,
            first.user_id.strip(),
            Decimal(REVENUE.match(first.revenue.strip())[1]).quantize(Decimal("0.01")),
            first.source_path,
            first.source_sha256,
            "Purchases",
            first.source_row,
            sum(content(c) == content(first) for c in found),
        )
    return rows
