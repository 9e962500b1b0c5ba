"""Ingest validation: Pandera schemas for extracted batches, and the reasons rows are rejected.

Every extracted row is either accepted (it goes on to bronze) or rejected with *every* reason
at once (lazy validation), so a quarantined row can be fixed in one pass. Reasons name the
source's own column headers, as the person fixing the export sees them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandera.typing import Series

from playstudio_luigi.config import playstudio
from playstudio_luigi.intervals import Interval
from playstudio_luigi.quality.revenue import REVENUE_PATTERN, split_revenue
from playstudio_luigi.source.schema import SheetLayout

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Any printable characters but whitespace (non-ASCII ids are real ids); 1 to 64 of them.
USER_ID_PATTERN = r"^[^\s\x00-\x1f\x7f]{1,64}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"


@dataclass(frozen=True)
class Limits:
    """Row-level limits from ``[playstudio]`` (read when a batch is validated)."""

    accepted_currencies: tuple[str, ...]
    max_revenue: float
    max_spins: float
    accepted_countries: tuple[str, ...]

    @classmethod
    def from_config(cls) -> Limits:
        settings = playstudio()
        return cls(
            accepted_currencies=tuple(settings.accepted_currencies),
            max_revenue=settings.max_revenue,
            max_spins=settings.max_spins,
            accepted_countries=tuple(settings.accepted_countries),
        )


class ExtractedRow(pa.DataFrameModel):
    """Columns every extracted sheet has: provenance, time and user."""

    source_row: Series[int] = pa.Field(ge=1)
    event_time: Series[pd.Timestamp] = pa.Field(nullable=False)
    user_id: Series[str] = pa.Field(nullable=False, str_matches=USER_ID_PATTERN)
    in_interval: Series[bool] = pa.Field(isin=[True])

    class Config:
        strict = False
        coerce = False


class PurchaseRow(ExtractedRow):
    """One row of the ``Purchases`` sheet (``currency``/``amount`` parsed from ``revenue``)."""

    revenue: Series[str] = pa.Field(nullable=False, str_matches=REVENUE_PATTERN)
    currency: Series[str] = pa.Field(nullable=True)
    amount: Series[float] = pa.Field(nullable=True, gt=0)
    transaction_id: Series[str] = pa.Field(nullable=False, str_matches=UUID_PATTERN)


class SpinRow(ExtractedRow):
    """One row of the ``Spins Hourly`` sheet (``spins`` is the parsed ``total_spins``)."""

    country: Series[str] = pa.Field(nullable=False, str_matches=COUNTRY_PATTERN)
    spins: Series[float] = pa.Field(nullable=False, ge=0)

    @pa.check("event_time", name="on_the_hour")
    def on_the_hour(cls, series: Series[pd.Timestamp]) -> Series[bool]:
        return series.isna() | (series == series.dt.floor("h"))


#: The model of each sheet's extracted rows.
MODELS: dict[str, type[ExtractedRow]] = {"purchases": PurchaseRow, "spins": SpinRow}


def _limit_checks(kind: str, limits: Limits) -> dict[str, list[pa.Check]]:
    """The checks that depend on ``[playstudio]`` settings, per column, for one sheet."""
    if kind == "purchases":
        currencies, ceiling = list(limits.accepted_currencies), limits.max_revenue
        return {
            "currency": [
                pa.Check(lambda s: s.isna() | s.isin(currencies), name="accepted_currency")
            ],
            "amount": [pa.Check(lambda s: s.isna() | (s <= ceiling), name="below_ceiling")],
        }
    spins_ceiling = limits.max_spins
    return {
        "spins": [pa.Check(lambda s: s.isna() | (s <= spins_ceiling), name="finite_below_ceiling")]
    }


# Pandera registers its pandas backends (importing its built-in checks) on the first validate
# of a process: 0.12 s. Done here, at import, it happens once in the process that schedules a
# run, and the worker processes Luigi forks per task (``--workers 2``) inherit it, instead of
# each of them paying it again (a 7-day backfill: 1.3 s of CPU).
pa.DataFrameSchema.register_default_backends(pd.DataFrame)


@lru_cache(maxsize=16)
def schema_for(kind: str, limits: Limits) -> pa.DataFrameSchema:
    """The sheet's model with the configured limits added as named checks (built once per
    distinct setting: configuration reaches the checks as values, not through a global)."""
    schema = MODELS[kind].to_schema()
    return schema.update_columns(
        {
            column: {"checks": [*schema.columns[column].checks, *checks]}
            for column, checks in _limit_checks(kind, limits).items()
        }
    )


# Source column named in reasons, and the raw value to quote, for each checked column.
_SOURCE_COLUMN = {
    "event_time": "date",
    "in_interval": "date",
    "user_id": "userId",
    "revenue": "revenue",
    "currency": "revenue",
    "amount": "revenue",
    "transaction_id": "transaction_id",
    "country": "country",
    "spins": "total_spins",
}
_RAW_FIELD = {"date": "event_time", "userId": "user_id"}
_PATTERN_MEANING = {
    "user_id": "is not a sane id (1 to 64 characters, no spaces or control characters)",
    "revenue": "is not of the form PriceIn<CUR>=<amount> with at most 2 decimals",
    "transaction_id": "is not a UUID",
    "country": "is not a two-letter country code",
}


def _reason(column: str, check: str, row: dict, interval: Interval | None, limits: Limits) -> str:
    source = _SOURCE_COLUMN.get(column, column)
    raw = row.get(_RAW_FIELD.get(source, source))
    shown = repr(raw) if isinstance(raw, str) else str(raw)
    if check == "not_nullable":
        if column == "spins" and isinstance(raw, str):
            return f"total_spins {shown} is not a number"
        return f"{source} is missing"
    if check.startswith("str_matches") and column in _PATTERN_MEANING:
        return f"{source} {shown} {_PATTERN_MEANING[column]}"
    match column, check:
        case "in_interval", _:
            return f"date {shown} is outside the interval {_row_interval(row) or interval}"
        case "event_time", "on_the_hour":
            return f"date {shown} is not on the hour"
        case "currency", _:
            accepted = ", ".join(limits.accepted_currencies)
            return f"revenue {shown}: currency {row['currency']!r} is not accepted ({accepted})"
        case "amount", "below_ceiling":
            return f"revenue {shown} is above the ceiling of {limits.max_revenue:g} USD"
        case "amount", _:
            return f"revenue {shown} is not a positive amount"
        case "spins", "finite_below_ceiling":
            if not math.isfinite(row["spins"]):
                return f"total_spins {shown} is not finite"
            return f"total_spins {shown} is above the ceiling of {limits.max_spins:g}"
        case "spins", _:
            return f"total_spins {shown} is negative"
    return f"{source} {shown} fails {check}"


@dataclass
class ValidationResult:
    """Which rows (by ``source_row``) are rejected, each with every reason; plus warnings,
    problems that are recorded but do not reject the row (e.g. an unknown country)."""

    source_rows: int = 0
    rejected: dict[int, list[str]] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)

    @property
    def accepted_rows(self) -> int:
        return self.source_rows - len(self.rejected)

    @property
    def reject_ratio(self) -> float:
        return len(self.rejected) / self.source_rows if self.source_rows else 0.0


_TEXT_COLUMNS = ("user_id", "revenue", "transaction_id", "country", "total_spins", "cell_errors")


def _row_interval(row: dict) -> Interval | None:
    start = row.get("interval_start")
    if start is None or pd.isna(start):
        return None
    start = pd.Timestamp(start).to_pydatetime()
    return Interval(start, start + row["interval_width"])


def _prepare(frame: pd.DataFrame, layout: SheetLayout, interval: Interval | None) -> pd.DataFrame:
    """Typed columns for the schemas (also when the batch is empty or all-null), identifiers
    stripped of padding, numbers parsed from their text."""
    frame = frame.copy()
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["event_time"] = pd.to_datetime(frame["event_time"]).astype("datetime64[ns]")
    for column in _TEXT_COLUMNS:
        if column in frame:
            stripped = frame[column].astype(pd.StringDtype()).str.strip()
            frame[column] = stripped.mask(stripped == "")  # an empty cell is a missing value
    times = frame["event_time"]
    if "interval_start" in frame:  # a batch of many intervals: each row against its own
        start = pd.to_datetime(frame["interval_start"]).astype("datetime64[ns]")
        end = start + layout.width
        frame["interval_width"] = layout.width
    elif interval is not None:
        start, end = pd.Timestamp(interval.start), pd.Timestamp(interval.end)
    else:
        start = end = None
    frame["in_interval"] = (
        times.isna() | ((times >= start) & (times < end)) if start is not None else True
    )
    if layout.kind == "purchases":
        frame["currency"], frame["amount"] = _revenue_parts(frame["revenue"])
    else:
        # Text that is not a number becomes NaN (rejected as "not a number"); "inf" stays inf.
        frame["spins"] = pd.to_numeric(frame["total_spins"], errors="coerce").astype("float64")
    return frame


_AS_PANDAS_STRING = {pa_arrow.string(): pd.StringDtype()}


def _revenue_parts(revenue: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Currency (text) and amount (float) of each revenue string; missing where it does not
    match the format. In Arrow (:func:`split_revenue`): pandas' ``str.extract`` called Python's
    ``re`` once per row (a day of purchases: 62 ms, against 7 ms)."""
    parts = split_revenue(pa_arrow.array(revenue, type=pa_arrow.string()))
    currency = pc.struct_field(parts, "currency").to_pandas(types_mapper=_AS_PANDAS_STRING.get)
    amount = pc.cast(pc.struct_field(parts, "amount"), pa_arrow.float64()).to_pandas()
    return (
        pd.Series(currency.array, index=revenue.index),
        pd.Series(amount.array, index=revenue.index, dtype="float64"),
    )


def validate_batch(
    frame: pd.DataFrame,
    layout: SheetLayout,
    limits: Limits,
    interval: Interval | None = None,
) -> ValidationResult:
    """Validate an extracted batch of ``layout``'s sheet against ``limits``, lazily: every
    reason of every row at once.

    A batch with an ``interval_start`` column may hold many intervals: each row must lie in its
    own. Otherwise every row must lie in ``interval`` (when given).
    """
    result = ValidationResult(source_rows=len(frame))
    if frame.empty:
        return result  # most 5-minute intervals of a quiet hour: skip the overhead
    frame = _prepare(frame, layout, interval).reset_index(drop=True)
    failures: list[tuple[int, str, str]] = []
    try:
        schema_for(layout.kind, limits).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        for case in errors.failure_cases.itertuples(index=False):
            if case.index is None or pd.isna(case.index):
                raise  # a batch-level failure (e.g. a wrong dtype): not a row problem
            failures.append((int(case.index), str(case.column), str(case.check)))
    result.rejected = _reasons(frame, failures, interval, limits)
    if layout.kind == "spins" and limits.accepted_countries:
        result.warnings = _unknown_countries(frame, limits)
    return result


def _reasons(
    frame: pd.DataFrame,
    failures: list[tuple[int, str, str]],
    interval: Interval | None,
    limits: Limits,
) -> dict[int, list[str]]:
    """Every reason of every failing row, by source row, in the exporter's own words."""
    # Only failing rows are turned into dicts: a million-row batch is mostly clean.
    has_cell_errors = frame["cell_errors"].notna() if "cell_errors" in frame else None
    wanted = {index for index, _, _ in failures}
    if has_cell_errors is not None:
        wanted.update(frame.index[has_cell_errors])
    records = frame.loc[sorted(wanted)].to_dict("index") if wanted else {}
    reasons: dict[int, list[str]] = defaultdict(list)
    for index, column, check in failures:
        row = records[index]
        reason = _reason(column, check, row, interval, limits)
        if reason not in reasons[row["source_row"]]:
            reasons[row["source_row"]].append(reason)
    for row in records.values():
        cell_errors = row.get("cell_errors")
        if isinstance(cell_errors, str) and cell_errors:
            row_reasons = reasons[row["source_row"]]
            for cell_error in cell_errors.split("; "):
                # "X is missing" only restates an unreadable X cell: keep the precise reason.
                column = cell_error.split(":", 1)[0]
                if f"{column} is missing" in row_reasons:
                    row_reasons.remove(f"{column} is missing")
                row_reasons.append(cell_error)
    return {row: found for row, found in reasons.items() if found}


def _unknown_countries(frame: pd.DataFrame, limits: Limits) -> dict[int, list[str]]:
    countries = frame["country"]
    unknown = countries.notna() & ~countries.isin(list(limits.accepted_countries))
    return {
        int(source_row): [f"country {country!r} is not in [playstudio] accepted_countries"]
        for source_row, country in zip(
            frame.loc[unknown, "source_row"], countries[unknown], strict=True
        )
    }


def batch_rejection(
    result: ValidationResult, what: str, max_ratio: float, min_rows: int
) -> str | None:
    """Why the whole batch must be refused (too large a share rejected), or ``None``."""
    if result.source_rows < min_rows or result.reject_ratio <= max_ratio:
        return None
    counts: dict[str, int] = defaultdict(int)
    for row_reasons in result.rejected.values():
        for reason in row_reasons:
            counts[reason.split(" ", 1)[0].rstrip(":")] += 1
    top = ", ".join(f"{column}: {n}" for column, n in sorted(counts.items(), key=lambda x: -x[1]))
    return (
        f"{what}: {len(result.rejected)} of {result.source_rows} rows "
        f"({result.reject_ratio:.0%}) failed validation, above [playstudio] max_reject_ratio = "
        f"{max_ratio:g}; nothing was written for this interval (problems by column: {top})"
    )
