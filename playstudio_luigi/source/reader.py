"""Read one sheet of a source workbook into an Arrow table, losing no cell without a trace.

fastexcel is the reader (about 30x faster than openpyxl on 1M rows). Its type inference would
silently null out cells that do not fit the guessed type, so every column's type is declared:
``date`` as an Excel datetime, everything else as text. Cells that do not fit are returned by
``to_arrow_with_errors()`` and kept per row in ``cell_errors``, for validation to quarantine.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from playstudio_luigi.source.bounds import (
    PartScan,
    SourceBoundsError,
    open_archive,
    sheet_member,
)
from playstudio_luigi.source.schema import SheetLayout, normalize_header

# Largest distance (ms) from a whole second still taken for Excel's floating-point noise.
SUB_SECOND_NOISE_MS = 2


class SourceFormatError(ValueError):
    """The workbook cannot be read as a source: unreadable, or a sheet or column is missing."""

    log_traceback = False  # the message names the file and sheet (redaction.RedactingFilter)


EXTRACT_SCHEMA_BASE = [
    ("source_row", pa.int64()),
    ("event_time", pa.timestamp("s")),
]


def extract_schema(layout: SheetLayout) -> pa.Schema:
    """Schema of an extracted sheet: 1-based source row, typed date, text cells, cell errors."""
    fields = [pa.field(name, type_) for name, type_ in EXTRACT_SCHEMA_BASE]
    fields += [pa.field(f, pa.string()) for f in layout.fields if f != "event_time"]
    fields.append(pa.field("cell_errors", pa.string()))
    return pa.schema(fields)


def _match_sheet(reader: fastexcel.ExcelReader, path: Path, layout: SheetLayout) -> str:
    wanted = normalize_header(layout.name)
    matches = [name for name in reader.sheet_names if normalize_header(name) == wanted]
    if not matches:
        raise SourceFormatError(
            f"{path}: sheet {layout.name!r} not found (sheets: {', '.join(reader.sheet_names)})"
        )
    if len(matches) > 1:
        raise SourceFormatError(f"{path}: several sheets match {layout.name!r}: {matches}")
    return matches[0]


def _match_columns(available: list[str], path: Path, sheet: str, layout: SheetLayout) -> dict:
    by_normal: dict[str, list[str]] = defaultdict(list)
    for name in available:
        by_normal[normalize_header(name)].append(name)
    mapping = {}
    for header in layout.columns:
        found = by_normal.get(normalize_header(header), [])
        if not found:
            raise SourceFormatError(
                f"{path}: sheet {sheet!r} has no column {header!r} "
                f"(header row: {', '.join(map(repr, available))})"
            )
        if len(found) > 1:
            raise SourceFormatError(
                f"{path}: sheet {sheet!r} has several columns matching {header!r}: {found}"
            )
        mapping[header] = found[0]
    return mapping


def header_row_number(path: Path, sheet: str, data: bytes | None = None) -> int:
    """1-based row number of the first non-empty row of ``sheet`` (the header row).

    fastexcel numbers rows from the first non-empty row, not from the top of the sheet; this
    reads only the start of the sheet's XML to turn its positions into Excel row numbers.
    """
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    try:
        with open_archive(path, data) as archive:
            member = sheet_member(archive, sheet)
            if member is None:
                return 1
            with archive.open(member) as stream:
                for _, element in ElementTree.iterparse(stream):
                    if element.tag == f"{{{ns['m']}}}row" and any(
                        cell.find("m:v", ns) is not None or cell.find("m:is", ns) is not None
                        for cell in element.iterfind("m:c", ns)
                    ):
                        return int(element.get("r", "1"))
                    if element.tag == f"{{{ns['m']}}}row":
                        element.clear()
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        pass  # not a standard layout: fall back to the usual header on row 1
    return 1


_DETAIL_RE = re.compile(r"Expected (\w+) but got '(.*)'$", re.DOTALL)


def _describe_cell_error(column: str, detail: str) -> str:
    match = _DETAIL_RE.match(detail)
    if match:
        return f"{column}: expected an Excel {match[1]}, found {match[2]}"
    return f"{column}: {detail}"


def check_archive(path: Path, sheet: str, data: bytes | None = None) -> None:
    """Raise :class:`SourceFormatError` unless every part of the workbook matches its CRC-32,
    and :class:`~playstudio_luigi.source.bounds.SourceBoundsError` when ``sheet`` (or the
    shared strings) would exceed the reader's bounds; both in one pass over the archive.

    A workbook rewritten in place without truncation, or caught half-written, can still hold
    an intact copy of one sheet from before: it must not be loaded as a version of its own.
    Every part is inflated to its end (zipfile compares the CRC-32 there); ``sheet``'s XML and
    the shared strings are scanned for the bounds as they are inflated
    (:class:`~playstudio_luigi.source.bounds.PartScan`), so nothing is inflated twice.
    """
    try:
        with open_archive(path, data) as archive:
            member = sheet_member(archive, sheet)
            for info in archive.infolist():
                _inflate(archive, info, _part_scan(path, sheet, member, info))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        EOFError,
        zlib.error,
    ) as exc:
        raise SourceFormatError(
            f"{path}: damaged workbook ({exc}): being written, or rewritten in place without "
            "truncation; nothing of it is loaded"
        ) from exc


def _part_scan(
    path: Path, sheet: str, member: str | None, info: zipfile.ZipInfo
) -> PartScan | None:
    """The bounds scan ``info``'s part needs: the sheet read and the shared strings only."""
    if member is not None and info.filename == member:
        return PartScan(info, f"{path}: sheet {sheet!r}", sheet=True)
    if member is not None and info.filename == "xl/sharedStrings.xml":
        return PartScan(info, f"{path}: shared strings", sheet=False)
    return None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, scan: PartScan | None) -> None:
    """Read the part to its end (where zipfile checks its CRC-32), feeding ``scan`` if any."""
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 20):
            if scan is not None:
                scan.feed(chunk)
    if scan is not None:
        scan.finish()


def _declared_dtype(layout: SheetLayout, header: str) -> str:
    return "datetime" if header in layout.datetime_columns else "string"


def _load_columns(
    reader: fastexcel.ExcelReader, path: Path, sheet: str, layout: SheetLayout
) -> tuple[fastexcel.ExcelSheet, dict[str, str]]:
    """``sheet`` loaded with ``layout``'s columns, each with its declared type, and the mapping
    of the layout's headers to the sheet's.

    fastexcel parses the whole sheet on every ``load_sheet`` (a million rows: over 2 s), so the
    header is not loaded on its own: the columns are picked by name as the sheet's header is
    read, with the types declared under the layout's spelling of each header. Only a sheet
    whose header is spelled otherwise (``Date`` for ``date``) is loaded a second time, with its
    own spelling.
    """
    wanted = {normalize_header(header) for header in layout.columns}
    loaded = reader.load_sheet(
        sheet,
        use_columns=lambda column: normalize_header(column.name) in wanted,
        dtypes={header: _declared_dtype(layout, header) for header in layout.columns},
        whitespace_as_null=True,
    )
    available = [column.name for column in loaded.available_columns()]
    mapping = _match_columns(available, path, sheet, layout)
    declared = {
        column.name for column in loaded.selected_columns if column.dtype_from == "provided_by_name"
    }
    if all(mapping[header] == header and header in declared for header in layout.columns):
        return loaded, mapping
    del loaded  # free its cells before the sheet is parsed again
    reloaded = reader.load_sheet(
        sheet,
        use_columns=list(mapping.values()),
        dtypes={actual: _declared_dtype(layout, header) for header, actual in mapping.items()},
        whitespace_as_null=True,
    )
    return reloaded, mapping


def read_sheet(path: Path, layout: SheetLayout, data: bytes | None = None) -> pa.Table:
    """Read ``layout``'s sheet of the workbook at ``path``, from its bytes ``data`` if given.

    Returns one row per non-empty source row (fully empty padding rows are not data), with its
    1-based Excel row number in ``source_row`` and a text description of every cell that could
    not be read as its declared type in ``cell_errors``. Raises :class:`SourceFormatError`
    naming the file, sheet and column for batch-level problems, and for a workbook whose
    archive is damaged anywhere (:func:`check_archive`).
    """
    path = Path(path)
    try:
        reader = fastexcel.read_excel(path if data is None else data)
    except (fastexcel.FastExcelError, OSError) as exc:
        raise SourceFormatError(f"{path}: cannot be read as an .xlsx workbook: {exc}") from exc
    sheet = _match_sheet(reader, path, layout)
    try:
        # Before the reader builds the sheet: a hostile file must fail here, not abort the process.
        check_archive(path, sheet, data)
    except SourceBoundsError as exc:
        raise SourceFormatError(str(exc)) from exc
    try:
        loaded, mapping = _load_columns(reader, path, sheet, layout)
        batch, cell_errors = loaded.to_arrow_with_errors()
    except fastexcel.FastExcelError as exc:
        raise SourceFormatError(f"{path}: sheet {sheet!r} cannot be read: {exc}") from exc
    # The reader holds the whole sheet's cells (about 0.8 GB per million rows): let it go
    # before the columns are built, so the two never coexist.
    del loaded, reader

    first_data_row = header_row_number(path, sheet, data) + 1
    height = batch.num_rows
    errors_by_row: dict[int, list[str]] = defaultdict(list)
    if cell_errors is not None:
        header_of = {actual: header_name for header_name, actual in mapping.items()}
        names = batch.schema.names
        for error in cell_errors.errors:
            data_index, column_index = error.offset_position
            errors_by_row[data_index].append(
                _describe_cell_error(header_of[names[column_index]], error.detail)
            )

    columns: dict[str, pa.Array] = {
        "source_row": pa.array(range(first_data_row, first_data_row + height), pa.int64()),
    }
    for header_name, actual in mapping.items():
        field = layout.columns[header_name]
        values = batch.column(actual)
        if header_name in layout.datetime_columns:
            # Excel stores times as day fractions: round float noise (a millisecond or so) to
            # the source's seconds, but never round away a real fraction of a second.
            rounded = pc.round_temporal(values, 1, "second")
            noise = pc.abs(pc.subtract(values, rounded).cast(pa.int64()))
            for index in pc.indices_nonzero(pc.greater(noise, SUB_SECOND_NOISE_MS)).to_pylist():
                errors_by_row[index].append(
                    f"{header_name}: {values[index].as_py()} is not a whole second"
                )
            values = rounded.cast(pa.timestamp("s"))
        columns[field] = values
    columns["cell_errors"] = pa.array(
        ["; ".join(errors_by_row[i]) if i in errors_by_row else None for i in range(height)]
        if errors_by_row
        else pa.nulls(height, pa.string()),
        pa.string(),
    )
    table = pa.table(columns).select(extract_schema(layout).names).cast(extract_schema(layout))

    empty = pc.and_(
        pc.is_null(table["cell_errors"]),
        _all_null(table, layout.fields),
    )
    return table.filter(pc.invert(empty))


def _all_null(table: pa.Table, fields: list[str]) -> pa.ChunkedArray:
    result = None
    for field in fields:
        null = pc.is_null(table[field])
        result = null if result is None else pc.and_(result, null)
    return result
