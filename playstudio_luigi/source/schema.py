"""The source workbook's layout (DESIGN.md §3): sheets, required columns, and how they are read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from playstudio_luigi.intervals import FIVE_MINUTES, ONE_HOUR


@dataclass(frozen=True)
class SheetLayout:
    """One source sheet and how the pipeline carries it: its name and required columns
    (source header → field name), the length of its intervals, its tables, and its key.

    The two sheets differ only in these values; every layer's task reads them from here
    instead of switching on the sheet.
    """

    #: Short name: ``purchases`` or ``spins``.
    kind: str
    name: str
    columns: dict[str, str]
    #: Length of one interval of this sheet.
    width: timedelta
    #: ``staging.<staging_table>`` holds extracted slices, ``bronze.<bronze_table>`` bronze.
    staging_table: str
    bronze_table: str
    #: Field that identifies a row's subject when source slices are compared (reconcile).
    key_column: str
    #: SQL expression over bronze: what "the same row" means once exact duplicates collapse.
    distinct_key: str
    # Columns declared as Excel datetimes; every other required column is read as text so that
    # no cell value is coerced or lost (numbers are parsed later, with the row's provenance).
    datetime_columns: frozenset[str] = frozenset({"date"})

    @property
    def fields(self) -> list[str]:
        return list(self.columns.values())

    @property
    def value_fields(self) -> list[str]:
        """The sheet's own fields besides ``event_time`` and ``user_id``, which every sheet has."""
        return [f for f in self.fields if f not in ("event_time", "user_id")]


PURCHASES = SheetLayout(
    kind="purchases",
    name="Purchases",
    columns={
        "date": "event_time",
        "userId": "user_id",
        "revenue": "revenue",
        "transaction_id": "transaction_id",
    },
    width=FIVE_MINUTES,
    staging_table="extract_purchases",
    bronze_table="bronze_purchases",
    key_column="transaction_id",
    distinct_key="lower(ops.trimmed(transaction_id))",
)

SPINS = SheetLayout(
    kind="spins",
    name="Spins Hourly",
    columns={
        "date": "event_time",
        "userId": "user_id",
        "country": "country",
        "total_spins": "total_spins",
    },
    width=ONE_HOUR,
    staging_table="extract_spins",
    bronze_table="bronze_spins_hourly",
    key_column="user_id",
    distinct_key="(ops.trimmed(user_id), ops.trimmed(country))",
)

LAYOUTS = {layout.kind: layout for layout in (PURCHASES, SPINS)}


def normalize_header(text: str) -> str:
    """Headers (and sheet names) match case- and whitespace-insensitively."""
    return " ".join(str(text).split()).casefold()
