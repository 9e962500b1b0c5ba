"""Export file formats (placeholder until the CSV/Parquet readers land): .xlsx only."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import pyarrow as pa

from playstudio_luigi.source.reader import SourceFormatError, read_sheet
from playstudio_luigi.source.schema import LAYOUTS, SheetLayout, normalize_header

SUPPORTED_SUFFIXES = (".xlsx", ".csv", ".parquet")


def sheet_kinds(path: Path, data: bytes | None = None) -> list[str]:
    try:
        reader = fastexcel.read_excel(path if data is None else data)
    except (fastexcel.FastExcelError, OSError) as exc:
        raise SourceFormatError(f"{path}: cannot be read as an .xlsx workbook: {exc}") from exc
    names = {normalize_header(name) for name in reader.sheet_names}
    kinds = [kind for kind, layout in LAYOUTS.items() if normalize_header(layout.name) in names]
    if not kinds:
        raise SourceFormatError(
            f"{path}: holds neither export sheet (sheets: {', '.join(reader.sheet_names)})"
        )
    return kinds


def read_export(path: Path, layout: SheetLayout, data: bytes | None = None) -> pa.Table:
    return read_sheet(path, layout, data)
