"""Ingest validation: Pandera schemas for extracted batches, and the reasons rows are rejected.

Every extracted row is either accepted (it goes on to bronze) or rejected with *every* reason
at once (lazy validation), so a quarantined row can be fixed in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from playstudio_luigi.revenue import REVENUE_PATTERN

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
ACCEPTED_CURRENCIES = ("USD",)


class ExtractedRow(pa.DataFrameModel):
    """Columns every extracted sheet has: provenance, time and user."""

    source_row: Series[int] = pa.Field(ge=1)
    event_time: Series[pd.Timestamp] = pa.Field(nullable=False)
    user_id: Series[str] = pa.Field(nullable=False, str_matches=USER_ID_PATTERN)
    cell_errors: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = False


class PurchaseRow(ExtractedRow):
    """One row of the ``Purchases`` sheet."""

    revenue: Series[str] = pa.Field(nullable=False, str_matches=REVENUE_PATTERN)
    currency: Series[str] = pa.Field(nullable=True, isin=list(ACCEPTED_CURRENCIES))
    transaction_id: Series[str] = pa.Field(nullable=False, str_matches=UUID_PATTERN)


class SpinRow(ExtractedRow):
    """One row of the ``Spins Hourly`` sheet (``total_spins_value`` is the parsed number)."""

    country: Series[str] = pa.Field(nullable=False, str_matches=COUNTRY_PATTERN)
    total_spins_value: Series[float] = pa.Field(nullable=False, ge=0, lt=float("inf"))

    @pa.check("event_time", name="on_the_hour")
    def on_the_hour(cls, series: Series[pd.Timestamp]) -> Series[bool]:
        return series.isna() | (series == series.dt.floor("h"))


# Reasons name the source's own column headers, as a user fixing the export sees them.
_SOURCE_NAMES = {
    "event_time": "date",
    "user_id": "userId",
    "total_spins_value": "total_spins",
}
_PATTERN_MEANING = {
    "user_id": "is not a short id (letters, digits, '_' or '-', at most 64)",
    "revenue": "is not of the form PriceIn<CUR>=<amount> with at most 2 decimals",
    "transaction_id": "is not a UUID",
    "country": "is not a two-letter country code",
}


def _reason(column: str, check: str, failure_case: object, raw: dict[str, object]) -> str:
    name = _SOURCE_NAMES.get(column, column)
    if column == "total_spins_value" and check == "not_nullable":
        value = raw.get("total_spins")
        if value is None or pd.isna(value):
            return "total_spins is missing"
        return f"total_spins {value!r} is not a number"
    if check == "not_nullable":
        return f"{name} is missing"
    if check == "on_the_hour":
        return f"{name} {failure_case} is not on the hour"
    if check.startswith("str_matches") and column in _PATTERN_MEANING:
        return f"{name} {failure_case!r} {_PATTERN_MEANING[column]}"
    if column == "total_spins_value" and check.startswith("greater_than_or_equal_to"):
        return f"total_spins {raw.get('total_spins')!r} is negative"
    if column == "total_spins_value" and check.startswith("less_than"):
        return f"total_spins {raw.get('total_spins')!r} is not finite"
    if column == "currency":
        accepted = ", ".join(ACCEPTED_CURRENCIES)
        return f"revenue currency {failure_case!r} is not accepted (accepted: {accepted})"
    return f"{name} {failure_case!r} fails {check}"


@dataclass
class ValidationResult:
    """Which rows (by ``source_row``) are rejected, each with every reason."""

    rejected: dict[int, list[str]] = field(default_factory=dict)

    def accepted_count(self, total: int) -> int:
        return total - len(self.rejected)


_TEXT_COLUMNS = ("user_id", "revenue", "transaction_id", "country", "total_spins", "cell_errors")


def _prepare(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Give the batch the dtypes the schemas expect, even when it is empty or all-null."""
    frame = frame.copy()
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["event_time"] = pd.to_datetime(frame["event_time"]).astype("datetime64[ns]")
    for column in _TEXT_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype(pd.StringDtype())
    if kind == "purchases":
        frame["currency"] = frame["revenue"].str.extract(r"^\s*PriceIn([A-Z]{3})=", expand=False)
    else:
        # Text cells keep every value; a value that is not a number becomes NaN and is rejected.
        frame["total_spins_value"] = pd.to_numeric(frame["total_spins"], errors="coerce").astype(
            "float64"
        )
    return frame


def validate_batch(frame: pd.DataFrame, kind: str) -> ValidationResult:
    """Validate an extracted batch (``kind`` is ``purchases`` or ``spins``) lazily."""
    if frame.empty:
        return ValidationResult()  # most 5-minute intervals of a quiet hour: skip the overhead
    schema = PurchaseRow if kind == "purchases" else SpinRow
    frame = _prepare(frame, kind).reset_index(drop=True)
    reasons: dict[int, list[str]] = defaultdict(list)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        for case in cases.itertuples(index=False):
            if case.index is None or pd.isna(case.index):
                raise  # a batch-level failure (e.g. wrong dtype): not a row problem
            position = int(case.index)
            row = int(frame.at[position, "source_row"])
            raw = frame.iloc[position].to_dict()
            reason = _reason(str(case.column), str(case.check), case.failure_case, raw)
            if reason not in reasons[row]:
                reasons[row].append(reason)
    for source_row, cell_errors in zip(frame["source_row"], frame["cell_errors"], strict=True):
        if isinstance(cell_errors, str) and cell_errors:
            row_reasons = reasons[int(source_row)]
            # "date is missing" only restates an unreadable date cell: keep the precise reason.
            if cell_errors.startswith("date:") and "date is missing" in row_reasons:
                row_reasons.remove("date is missing")
            row_reasons.extend(cell_errors.split("; "))
    return ValidationResult(rejected=dict(reasons))
