"""Turn the raw columns of a CSV or Parquet export into the extract schema.

Text stays text (only a whitespace-only cell is empty, as the workbook reader has it); the date
is parsed to whole seconds, vectorised for the usual shapes (``2022-04-01 22:53:05``, ISO
``T``), one value at a time only for the rest. A date that cannot be read, or has a fraction of
a second, is kept in ``cell_errors`` with its column and value, for validation to quarantine.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from playstudio_luigi.source.reader import extract_schema
from playstudio_luigi.source.schema import SheetLayout

#: The shape parsed vectorised; anything else goes through ``datetime.fromisoformat``.
_USUAL_DATE = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
_EXAMPLE = "2022-04-01 22:53:05"
#: Nothing but Unicode White_Space (RE2's \s is ASCII: the rest is spelled out).
_BLANK = r"^[\s\x{0B}\x{85}\p{Z}]*$"
_EPOCH = datetime(1970, 1, 1)
_FIRST_SECOND = int((datetime(1, 1, 1) - _EPOCH).total_seconds())
_LAST_SECOND = int((datetime(9999, 12, 31, 23, 59, 59) - _EPOCH).total_seconds())
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

Errors = dict[int, list[str]]


def blank_as_null(values: pa.Array) -> pa.Array:
    """``values`` as text with empty and whitespace-only cells null; others unchanged.

    White space is Unicode's (as the workbook reader has it). The column is copied only when
    it holds such a cell.
    """
    blank = pc.fill_null(pc.match_substring_regex(values, _BLANK), False)
    if not pc.any(blank).as_py():
        return values
    return pc.if_else(blank, pa.scalar(None, pa.string()), values)


def parse_text_dates(values: pa.Array, column: str, errors: Errors) -> pa.Array:
    """Text dates as ``timestamp[s]``; each value that is not a whole-second naive (or UTC)
    date and time is null, with a description appended to ``errors[row]``."""
    text = blank_as_null(pc.utf8_trim_whitespace(values))
    usual = pc.fill_null(pc.match_substring_regex(text, _USUAL_DATE), False)
    spaced = pc.replace_substring(pc.if_else(usual, text, None), "T", " ")
    parsed = pc.strptime(spaced, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    # strptime rolls 2022-02-30 over to March 2 and 22:59:60 to 23:00, and takes the year 0
    # (which Python cannot hold): such values go the strict way below.
    exact = pc.and_(
        pc.equal(pc.day(parsed), pc.cast(pc.utf8_slice_codeunits(spaced, 8, 10), pa.int64())),
        pc.equal(pc.second(parsed), pc.cast(pc.utf8_slice_codeunits(spaced, 17, 19), pa.int64())),
    )
    exact = pc.and_(exact, pc.greater_equal(pc.year(parsed), 1))
    parsed = pc.if_else(pc.fill_null(exact, False), parsed, pa.scalar(None, pa.timestamp("s")))
    left = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    indices = pc.indices_nonzero(left).to_pylist()
    if not indices:
        return parsed
    replacements = []
    for index in indices:
        moment, error = parse_date_text(text[index].as_py(), column)
        replacements.append(moment)
        if error:
            errors[index].append(error)
    return pc.replace_with_mask(parsed, left, pa.array(replacements, pa.timestamp("s")))


def parse_date_text(text: str, column: str) -> tuple[datetime | None, str | None]:
    """One date that is not in the usual shape: ``(moment, None)`` or ``(None, reason)``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{column}: expected a date and time like {_EXAMPLE}, found {text}"
    if moment.tzinfo is not None:
        if moment.utcoffset() != timedelta(0):
            return None, f"{column}: {text} is not in UTC (dates are naive UTC)"
        moment = moment.replace(tzinfo=None)
    if moment.microsecond:
        return None, f"{column}: {text} is not a whole second"
    return moment, None


def is_datetime_type(type_: pa.DataType) -> bool:
    """Whether a column of ``type_`` holds dates and times as such (else it is read as text)."""
    return pa.types.is_timestamp(type_) or pa.types.is_date(type_)


def whole_second_times(values: pa.Array, column: str, errors: Errors) -> pa.Array:
    """A timestamp (any unit, naive or with a time zone: taken in UTC) or date column as
    ``timestamp[s]``; a time with a fraction of a second is null and an entry of ``errors``."""
    if pa.types.is_date(values.type):
        return _within_range(values.cast(pa.timestamp("s")), column, errors)
    unit = values.type.unit
    if values.type.tz is not None:
        values = values.cast(pa.timestamp(unit))  # the stored instants are UTC already
    if unit == "s":
        return _within_range(values, column, errors)
    ticks = values.cast(pa.int64())
    per_second = _TICKS_PER_SECOND[unit]
    whole = pc.multiply(pc.divide(ticks, per_second), per_second)  # integer division
    fraction = pc.fill_null(pc.not_equal(ticks, whole), False)
    for index in pc.indices_nonzero(fraction).to_pylist():
        shown = pc.strftime(values[index : index + 1], format="%Y-%m-%d %H:%M:%S")[0].as_py()
        errors[index].append(f"{column}: {shown} is not a whole second")
    seconds = pc.cast(values, pa.timestamp("s"), safe=False)
    return _within_range(
        pc.if_else(fraction, pa.scalar(None, pa.timestamp("s")), seconds), column, errors
    )


def _within_range(values: pa.Array, column: str, errors: Errors) -> pa.Array:
    """Times outside the years 1..9999 (which Parquet can hold, Python and Excel cannot) are
    null and an entry of ``errors``."""
    ticks = values.cast(pa.int64())
    outside = pc.fill_null(
        pc.or_(pc.less(ticks, _FIRST_SECOND), pc.greater(ticks, _LAST_SECOND)), False
    )
    indices = pc.indices_nonzero(outside).to_pylist()
    for index in indices:
        errors[index].append(
            f"{column}: {ticks[index].as_py()} seconds since 1970 is outside the years 1 to 9999"
        )
    return pc.if_else(outside, pa.scalar(None, pa.timestamp("s")), values) if indices else values


def extract_table(
    columns: dict[str, pa.Array], height: int, layout: SheetLayout, first_row: int
) -> pa.Table:
    """The extract table of ``layout`` from ``columns`` (source header -> values, the date as
    text or temporal, the rest as text), data row *i* being source row ``first_row + i``;
    fully empty rows dropped."""
    errors: Errors = defaultdict(list)
    fields: dict[str, pa.Array] = {
        "source_row": pa.array(range(first_row, first_row + height), pa.int64())
    }
    for header, values in columns.items():
        if header in layout.datetime_columns:
            if is_datetime_type(values.type):
                parsed = whole_second_times(values, header, errors)
            else:
                parsed = parse_text_dates(_text(values), header, errors)
            fields[layout.columns[header]] = parsed
        else:
            fields[layout.columns[header]] = blank_as_null(values)
    fields["cell_errors"] = pa.array(
        ["; ".join(errors[i]) if i in errors else None for i in range(height)]
        if errors
        else pa.nulls(height, pa.string()),
        pa.string(),
    )
    schema = extract_schema(layout)
    table = pa.table(fields).select(schema.names).cast(schema)
    empty = pc.is_null(table["cell_errors"])
    for field in layout.fields:
        empty = pc.and_(empty, pc.is_null(table[field]))
    # Filtering copies every column: only when there is padding to drop.
    return table.filter(pc.invert(empty)) if pc.any(empty).as_py() else table


def _text(values: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values if pa.types.is_string(values.type) else values.cast(pa.string())
