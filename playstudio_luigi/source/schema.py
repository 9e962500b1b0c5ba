"""The source workbook's layout (DESIGN.md §3): sheets, required columns, and how they are read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SheetLayout:
    """One source sheet: its name and required columns (source header → field name)."""

    name: str
    columns: dict[str, str]
    # Columns declared as Excel datetimes; every other required column is read as text so that
    # no cell value is coerced or lost (numbers are parsed later, with the row's provenance).
    datetime_columns: frozenset[str] = frozenset({"date"})
    # Columns derived once per source version and staged with the rows.
    derived_columns: tuple[str, ...] = ()

    @property
    def fields(self) -> list[str]:
        return list(self.columns.values())

    @property
    def staged_value_columns(self) -> list[str]:
        """Staged columns besides provenance, ``event_time`` and ``user_id``."""
        skip = ("event_time", "user_id")
        return [f for f in self.fields if f not in skip] + list(self.derived_columns)


PURCHASES = SheetLayout(
    name="Purchases",
    columns={
        "date": "event_time",
        "userId": "user_id",
        "revenue": "revenue",
        "transaction_id": "transaction_id",
    },
    derived_columns=("conflicts_with_row",),
)

SPINS = SheetLayout(
    name="Spins Hourly",
    columns={
        "date": "event_time",
        "userId": "user_id",
        "country": "country",
        "total_spins": "total_spins",
    },
)

LAYOUTS = {"purchases": PURCHASES, "spins": SPINS}


def normalize_header(text: str) -> str:
    """Headers (and sheet names) match case- and whitespace-insensitively."""
    return " ".join(str(text).split()).casefold()
