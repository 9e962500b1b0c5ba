"""Read one export file of any supported format into the extract schema (DESIGN.md §3.1).

A source is one workbook or a folder of export files: ``.xlsx`` (either sheet or both, found
by sheet name), ``.csv`` and ``.parquet`` (one table each, whose sheet follows from its header).
:func:`sheet_kinds` says which sheets a file holds; :func:`read_export` reads one of them with
the guarantees of :func:`~playstudio_luigi.source.reader.read_sheet`: every column but the date
is text exactly as exported (no type inference: ``PriceInUSD=4.99``, ``3.5`` and ``007`` stay
as they are), fully empty rows are dropped, ``source_row`` is the row a user finds the record
at (the header is row 1), and a date that cannot be read is a ``cell_errors`` entry for
validation to quarantine, never a crash. A file that cannot be read at all is one
:class:`~playstudio_luigi.source.reader.SourceFormatError` naming it.

pyarrow reads both formats (its CSV reader is multi-core C++; pandas is not needed).
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from playstudio_luigi.source.bounds import MAX_PART_BYTES, open_archive
from playstudio_luigi.source.export_table import extract_table, is_datetime_type
from playstudio_luigi.source.reader import SourceFormatError, read_sheet
from playstudio_luigi.source.schema import LAYOUTS, SheetLayout, normalize_header

SUPPORTED_SUFFIXES = (".xlsx", ".csv", ".parquet")

#: Longest CSV record always accepted, in bytes. pyarrow parses in blocks of this size and
#: refuses a record spanning more than two of them, so nothing longer than twice this is ever
#: held (an unclosed quote turning the rest of a file into one value, or a hostile file).
MAX_CSV_RECORD_BYTES = 1 << 20
#: Most columns a header may have (Excel's limit): beyond it the file is not an export.
MAX_COLUMNS = 16_384
#: Largest inflated size of the columns read from a Parquet file, in bytes (as for a sheet).
MAX_PARQUET_BYTES = MAX_PART_BYTES
#: Largest ``xl/workbook.xml`` (the sheet list) read to learn a workbook's sheet names.
MAX_WORKBOOK_XML_BYTES = 16 << 20

_MAGIC = {b"PK\x03\x04": "a zip archive (an .xlsx workbook?)", b"PAR1": "a Parquet file"}


def suffix_of(path: Path) -> str:
    """The file's format suffix, lowercased; :class:`SourceFormatError` when unsupported."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceFormatError(
            f"{path}: unsupported file type {suffix or '(none)'!r} "
            f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    return suffix


def sheet_kinds(path: Path, data: bytes | None = None) -> list[str]:
    """The layouts (``kind`` of :data:`~playstudio_luigi.source.schema.LAYOUTS`) the file at
    ``path`` (or its bytes ``data``) holds, in ``LAYOUTS`` order.

    An ``.xlsx`` holds the layouts whose sheet it has (by name); a ``.csv`` or ``.parquet``
    holds the one layout whose columns are all in its header. Raises
    :class:`SourceFormatError` naming the file when it holds none (or, for a CSV or Parquet
    header, both), or cannot be read.
    """
    path = Path(path)
    suffix = suffix_of(path)
    if suffix == ".xlsx":
        _check_zip(path, data)
        sheets = _workbook_sheet_names(path, data)
        kinds = [layout.kind for layout in LAYOUTS.values() if _matching(sheets, layout.name, path)]
        if not kinds:
            wanted = " or ".join(repr(layout.name) for layout in LAYOUTS.values())
            raise SourceFormatError(
                f"{path}: no sheet {wanted} (sheets: {', '.join(sheets) or 'none'})"
            )
        return kinds
    header = _csv_header(path, data) if suffix == ".csv" else _parquet_file(path, data)[1]
    return [_header_kind(path, header)]


def read_export(path: Path, layout: SheetLayout, data: bytes | None = None) -> pa.Table:
    """The rows of ``layout``'s sheet in the export file at ``path`` (from its bytes ``data``
    when given: the caller hashes exactly what is parsed), in
    :func:`~playstudio_luigi.source.reader.extract_schema` (``source_row``, ``event_time``,
    the layout's text fields, ``cell_errors``).

    ``source_row`` is 1-based with the header on row 1: the spreadsheet row of an ``.xlsx``,
    the record number of a CSV (every record counts, empty lines too; a quoted value spanning
    lines is one record), data row *i* of a Parquet file is row *i* + 1. Raises
    :class:`SourceFormatError` naming the file when it cannot be read, or does not hold
    ``layout``'s sheet.
    """
    path = Path(path)
    suffix = suffix_of(path)
    if suffix == ".xlsx":
        _check_zip(path, data)
        try:
            return read_sheet(path, layout, data)
        except SourceFormatError as exc:
            # The reader's message may carry the library's context on further lines.
            first, *more = str(exc).splitlines() or [""]
            if more:
                raise SourceFormatError(first) from exc
            raise
    if suffix == ".csv":
        return _read_csv(path, layout, data)
    return _read_parquet(path, layout, data)


# --- headers ---------------------------------------------------------------------------------


def _matching(names: list[str], wanted: str, path: Path) -> str | None:
    """The one name among ``names`` matching ``wanted`` (case/whitespace-insensitively)."""
    normal = normalize_header(wanted)
    found = [name for name in names if normalize_header(name) == normal]
    if len(found) > 1:
        raise SourceFormatError(f"{path}: several columns or sheets match {wanted!r}: {found}")
    return found[0] if found else None


def _missing(header: list[str], layout: SheetLayout) -> list[str]:
    present = {normalize_header(name) for name in header}
    return [column for column in layout.columns if normalize_header(column) not in present]


def _header_kind(path: Path, header: list[str]) -> str:
    """The one layout all of whose columns are in ``header``."""
    kinds = [layout.kind for layout in LAYOUTS.values() if not _missing(header, layout)]
    if len(kinds) == 1:
        return kinds[0]
    shown = ", ".join(map(repr, header[:20])) + (", ..." if len(header) > 20 else "")
    if kinds:
        raise SourceFormatError(
            f"{path}: the header row has the columns of every sheet "
            f"({', '.join(LAYOUTS[k].name for k in kinds)}): one table per file "
            f"(header row: {shown})"
        )
    reasons = "; ".join(
        f"{layout.name}: no column {', '.join(map(repr, _missing(header, layout)))}"
        for layout in LAYOUTS.values()
    )
    hint = next(
        (
            f"; the columns look separated by {separator!r}: only ',' is read"
            for separator in (";", "\t", "|")
            if len(header) == 1 and separator in header[0]
        ),
        "",
    )
    raise SourceFormatError(
        f"{path}: the header row is not that of a sheet ({reasons}) (header row: {shown}){hint}"
    )


def _columns_of(path: Path, header: list[str], layout: SheetLayout) -> dict[str, int]:
    """Position in ``header`` of each of ``layout``'s columns; the file must be that layout."""
    kind = _header_kind(path, header)
    if kind != layout.kind:
        raise SourceFormatError(
            f"{path}: holds {LAYOUTS[kind].name} rows, not {layout.name} "
            f"(no column {', '.join(map(repr, _missing(header, layout)))})"
        )
    return {column: header.index(_matching(header, column, path)) for column in layout.columns}


def _looks_like(head: bytes) -> str:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return f" (it looks like {what})"
    return ""


# --- xlsx ------------------------------------------------------------------------------------


def _workbook_sheet_names(path: Path, data: bytes | None) -> list[str]:
    """Sheet names from ``xl/workbook.xml`` alone: nothing else of the workbook is inflated."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    try:
        with open_archive(path, data) as archive, archive.open("xl/workbook.xml") as stream:
            xml = stream.read(MAX_WORKBOOK_XML_BYTES + 1)
        if len(xml) > MAX_WORKBOOK_XML_BYTES:
            raise SourceFormatError(
                f"{path}: xl/workbook.xml is larger than {MAX_WORKBOOK_XML_BYTES:,} bytes "
                "(a zip bomb or not an export)"
            )
        root = ElementTree.fromstring(xml)
    except (
        OSError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        zlib.error,
        ElementTree.ParseError,
    ) as exc:
        head = data[:4] if data is not None else _head(path)
        raise SourceFormatError(
            f"{path}: cannot be read as an .xlsx workbook{_looks_like(head)}: {exc}"
        ) from exc
    return [sheet.get("name", "") for sheet in root.iter(f"{ns}sheet")]


def _check_zip(path: Path, data: bytes | None) -> None:
    """An .xlsx workbook is a zip archive: say so plainly for a file that is not one."""
    head = data[:4] if data is not None else _head(path)
    if head != b"PK\x03\x04":
        raise SourceFormatError(
            f"{path}: cannot be read as an .xlsx workbook: not a zip archive"
            f"{_looks_like(head) or (' (empty file)' if not head else '')}"
        )


def _head(path: Path) -> bytes:
    """The first bytes of the file, which say what it is."""
    try:
        with open(path, "rb") as stream:
            return stream.read(4)
    except OSError as exc:
        raise SourceFormatError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


# --- csv -------------------------------------------------------------------------------------


def _csv_start(path: Path, data: bytes | None) -> bytes:
    """The first bytes of the CSV: enough to hold a header record of the longest length."""
    if data is not None:
        return data[: MAX_CSV_RECORD_BYTES + 1]
    try:
        with open(path, "rb") as stream:
            return stream.read(MAX_CSV_RECORD_BYTES + 1)
    except OSError as exc:
        raise SourceFormatError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _split_header(path: Path, start: bytes) -> tuple[list[str], int]:
    """The header record's names and the byte offset where the data records begin."""
    if not start.strip():
        raise SourceFormatError(f"{path}: empty file (a CSV export has at least its header row)")
    if _looks_like(start):
        raise SourceFormatError(f"{path}: not CSV text{_looks_like(start)}")
    end = start.find(b"\n")
    if end < 0 and len(start) > MAX_CSV_RECORD_BYTES:
        raise SourceFormatError(
            f"{path}: the header row is longer than {MAX_CSV_RECORD_BYTES:,} bytes (not an export)"
        )
    line = start if end < 0 else start[: end + 1]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(
            f"{path}: the header row is not UTF-8 text{_looks_like(start)}; save the export as "
            "UTF-8 CSV"
        ) from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise SourceFormatError(
            f"{path}: the header row cannot be read as CSV ({exc}; a line break inside a "
            "quoted column name is not supported)"
        ) from exc
    if len(rows) > 1:  # the line holds a record break of its own: a bare CR
        raise SourceFormatError(
            f"{path}: the header row ends with a bare CR line break; save the export with LF "
            "or CRLF line breaks"
        )
    header = rows[0] if rows else []
    if len(header) > MAX_COLUMNS:
        raise SourceFormatError(
            f"{path}: the header row has {len(header):,} columns, more than {MAX_COLUMNS:,}"
        )
    return header, len(line)


def _csv_header(path: Path, data: bytes | None) -> list[str]:
    return _split_header(path, _csv_start(path, data))[0]


def _read_csv(path: Path, layout: SheetLayout, data: bytes | None) -> pa.Table:
    if data is not None:
        return _read_csv_from(path, layout, pa.BufferReader(data), _csv_start(path, data))
    try:
        with open(path, "rb") as stream:  # one open for the header and the rows
            return _read_csv_from(path, layout, stream, stream.read(MAX_CSV_RECORD_BYTES + 1))
    except OSError as exc:  # opening or reading the header (the rows' errors are mapped below)
        raise SourceFormatError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _read_csv_from(
    path: Path, layout: SheetLayout, stream: BinaryIO | pa.NativeFile, start: bytes
) -> pa.Table:
    """Read the CSV open as ``stream`` (binary, seekable), whose first bytes are ``start``."""
    header, offset = _split_header(path, start)
    positions = _columns_of(path, header, layout)
    # Synthetic names: a header may repeat a name among the columns we ignore.
    names = [f"c{i}" for i in range(len(header))]
    wanted = {column: names[i] for column, i in positions.items()}
    ragged: list[pa_csv.InvalidRow] = []

    def refuse(row: pa_csv.InvalidRow) -> str:
        ragged.append(row)
        return "error"

    stream.seek(offset)
    try:
        if len(start) == offset:  # the header is all there is (pyarrow refuses empty input)
            table = pa.table({name: pa.array([], pa.string()) for name in wanted.values()})
        else:
            table = pa_csv.read_csv(
                stream,
                read_options=pa_csv.ReadOptions(
                    column_names=names, block_size=MAX_CSV_RECORD_BYTES, use_threads=False
                ),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=refuse
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in wanted.values()},
                    include_columns=list(wanted.values()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _csv_error(path, wanted, ragged, exc) from exc
    height = table.num_rows
    columns = {}
    for column, name in wanted.items():
        # Each column let go once copied: the file's text is never held twice.
        columns[column] = table[name].combine_chunks()
        table = table.drop_columns([name])
    del table
    return extract_table(columns, height, layout, first_row=2)


def _csv_error(
    path: Path,
    wanted: dict[str, str],
    ragged: list[pa_csv.InvalidRow],
    exc: Exception,
) -> SourceFormatError:
    message = str(exc)
    if ragged:
        row = ragged[0]
        where = f"row {row.number + 1}" if row.number is not None else "a row"
        return SourceFormatError(
            f"{path}: {where} has {row.actual_columns} fields, the header row has "
            f"{row.expected_columns} (a ragged CSV: an unquoted comma or a missing field)"
        )
    if "straddle" in message:
        return SourceFormatError(
            f"{path}: a record longer than {MAX_CSV_RECORD_BYTES:,} bytes (an unclosed quote, "
            "or not an export): refused"
        )
    if "UTF8" in message:
        column = next(
            (name for name, synthetic in wanted.items() if f"column #{synthetic[1:]}:" in message),
            None,
        )
        where = f" in column {column!r}" if column else ""
        return SourceFormatError(f"{path}: not UTF-8 text{where}; save the export as UTF-8 CSV")
    return SourceFormatError(f"{path}: cannot be read as CSV: {message.splitlines()[0]}")


# --- parquet ---------------------------------------------------------------------------------


def _parquet_file(path: Path, data: bytes | None) -> tuple[pq.ParquetFile, list[str]]:
    """The opened file (its footer read) and its column names."""
    try:
        parquet = pq.ParquetFile(path if data is None else pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        head = data[:4] if data is not None else _head(path)
        looks = "" if head == b"PAR1" else _looks_like(head)
        raise SourceFormatError(
            f"{path}: cannot be read as a Parquet file{looks}: {str(exc).splitlines()[0]}"
        ) from exc
    return parquet, parquet.schema_arrow.names


def _read_parquet(path: Path, layout: SheetLayout, data: bytes | None) -> pa.Table:
    parquet, header = _parquet_file(path, data)
    positions = _columns_of(path, header, layout)
    metadata = parquet.metadata
    selected = {header[i] for i in positions.values()}
    inflated = sum(
        group.column(i).total_uncompressed_size
        for group in (metadata.row_group(g) for g in range(metadata.num_row_groups))
        for i in range(group.num_columns)
        if any(_under(group.column(i).path_in_schema, name) for name in selected)
    )
    if inflated > MAX_PARQUET_BYTES:
        raise SourceFormatError(
            f"{path}: its columns expand to {inflated:,} bytes, above the bound of "
            f"{MAX_PARQUET_BYTES:,} (split the export into smaller files)"
        )
    try:
        table = parquet.read(columns=sorted(selected), use_threads=True)
    except (pa.ArrowException, OSError) as exc:
        raise SourceFormatError(
            f"{path}: damaged Parquet file (being written, or truncated?): "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    height = table.num_rows
    columns = {}
    for column, i in positions.items():
        values = table[header[i]].combine_chunks()
        table = table.drop_columns([header[i]])  # let go once copied, as for CSV
        if column not in layout.datetime_columns or not is_datetime_type(values.type):
            values = _as_text(path, column, values)
        columns[column] = values
    del table
    return extract_table(columns, height, layout, first_row=2)


def _under(path_in_schema: str, name: str) -> bool:
    """Whether a leaf column (``a.list.element``) belongs to the top-level column ``name``."""
    return path_in_schema == name or path_in_schema.startswith(f"{name}.")


def _as_text(path: Path, column: str, values: pa.Array) -> pa.Array:
    """A Parquet column as text, with no value lost: numbers as Arrow (and Excel) print them."""
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    try:
        return values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SourceFormatError(
            f"{path}: column {column!r} of type {values.type} cannot be read as text: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


__all__ = [
    "MAX_COLUMNS",
    "MAX_CSV_RECORD_BYTES",
    "MAX_PARQUET_BYTES",
    "SUPPORTED_SUFFIXES",
    "SourceFormatError",
    "read_export",
    "sheet_kinds",
    "suffix_of",
]
