"""Resource bounds for reading a workbook: refuse, with a clear error, what would exhaust memory.

The reader (fastexcel, on calamine) builds a dense grid of the used area of a sheet (32 bytes
per cell) and keeps each XML text run in memory. Three hostile shapes would take the worker
down (calamine aborts the process on allocation failure, so no exception can catch it):

* a *dimension bomb*: one cell at ``XFD1048576`` makes a 17-billion-cell grid (512 GiB);
* a *zip bomb*: a small file whose sheet expands to gigabytes;
* a *text bomb*: a single text run of gigabytes (Excel cells hold at most 32,767 characters).

:func:`check_sheet_bounds` streams the sheet's XML (and the shared strings) once, before the
reader sees them, counting the bytes actually inflated (declared sizes can lie), the longest
run without markup, and the last row and column referenced. Cost: one inflate pass, about
0.5 s per 100 MB of sheet XML.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

#: Largest inflated size of one workbook part (sheet XML, shared strings), in bytes.
MAX_PART_BYTES = 1 << 30
#: Largest used area of a sheet (last row x last column), in cells: 512 MiB of reader grid.
MAX_SHEET_CELLS = 1 << 24
#: Longest text without markup; an Excel cell holds at most 32,767 characters.
MAX_TEXT_RUN = 1 << 20

_CHUNK = 1 << 20
_OVERLAP = 32
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WIDE_COLUMN = re.compile(rb' r="([A-Z]{2,3})[0-9]')
_LAST_REF = re.compile(rb' r="[A-Z]{0,3}([0-9]{1,9})"')
_HUGE_ROW = re.compile(rb' r="[A-Z]{0,3}([0-9]{7,9})"')


class SourceBoundsError(ValueError):
    """The workbook would need more memory than the configured bounds allow."""

    log_traceback = False  # the message names the file, sheet and bound


def column_number(letters: str) -> int:
    """``A`` -> 1, ``Z`` -> 26, ``AA`` -> 27, ``XFD`` -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive member holding ``sheet``'s XML, or None when the layout is not standard."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        rel_id = next(
            s.get(f"{{{ns['r']}}}id")
            for s in workbook.iterfind("m:sheets/m:sheet", ns)
            if s.get("name") == sheet
        )
        target = next(r.get("Target") for r in rels if r.get("Id") == rel_id)
    except (KeyError, StopIteration, ElementTree.ParseError):
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _beyond(last_column: int) -> re.Pattern[bytes]:
    """A reference that could move the bounds found so far: a column right of
    ``last_column`` (or of two or three letters), or a row of seven digits."""
    wider = rb"" if last_column >= 26 else rb"[" + _LETTERS[last_column].encode() + rb"-Z]|"
    return re.compile(rb' r="(?:(?:' + wider + rb"[A-Z]{2,3})[0-9]|[A-Z]{0,3}[0-9]{7})")


_BEYOND = [_beyond(last_column) for last_column in range(27)]


class PartScan:
    """The bounds of one workbook part (named ``where`` in errors), fed its inflated bytes
    chunk by chunk, in order: raises :class:`SourceBoundsError` as soon as one is exceeded,
    and at :meth:`finish` when the part is a ``sheet`` whose used area is too large."""

    def __init__(self, info: zipfile.ZipInfo, where: str, *, sheet: bool) -> None:
        if info.file_size > MAX_PART_BYTES:
            raise SourceBoundsError(
                f"{where} expands to {info.file_size:,} bytes, above the bound of "
                f"{MAX_PART_BYTES:,} (a zip bomb or an export far larger than any real one)"
            )
        self.where = where
        self.sheet = sheet
        self.total = self.run = self.last_row = self.last_column = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > MAX_PART_BYTES:
            raise SourceBoundsError(
                f"{self.where} expands to more than {MAX_PART_BYTES:,} bytes "
                "(a zip bomb or an export far larger than any real one)"
            )
        self._text_run(chunk)
        window = self.tail + chunk
        self.tail = window[-_OVERLAP:]
        # Rows come in ascending order: the chunk's last reference is its largest row.
        refs = list(_LAST_REF.finditer(window, max(0, len(window) - 4096)))
        refs = refs or list(_LAST_REF.finditer(window))
        if refs:
            self.last_row = max(self.last_row, *(int(m[1]) for m in refs))
        # The whole chunk is searched once for a reference that could widen the bounds (a row
        # of 7 digits anywhere, out of order, or a column further right); only a chunk that
        # has one is looked at closely.
        if _BEYOND[min(self.last_column, 26)].search(window):
            self._widen(window)

    def _text_run(self, chunk: bytes) -> None:
        first = chunk.find(b"<")
        self.run += len(chunk) if first < 0 else first
        if self.run > MAX_TEXT_RUN:
            raise SourceBoundsError(
                f"{self.where} has a text of more than {MAX_TEXT_RUN:,} characters without "
                "markup (an Excel cell holds at most 32,767)"
            )
        if first >= 0:
            self.run = len(chunk) - chunk.rfind(b"<") - 1

    def _widen(self, window: bytes) -> None:
        rows = [int(m[1]) for m in _HUGE_ROW.finditer(window)]
        self.last_row = max(self.last_row, *rows) if rows else self.last_row
        for match in _WIDE_COLUMN.finditer(window):
            self.last_column = max(self.last_column, column_number(match[1].decode()))
        while self.last_column < 26:  # one-letter columns beyond the widest seen so far
            pattern = rb' r="([' + _LETTERS[self.last_column].encode() + rb"-Z])[0-9]"
            match = re.search(pattern, window)
            if match is None:
                break
            self.last_column = column_number(match[1].decode())

    def finish(self) -> None:
        """The whole part has been fed: raise when it is a sheet whose used area (last row x
        last column referenced) exceeds :data:`MAX_SHEET_CELLS`."""
        cells = self.last_row * self.last_column
        if self.sheet and cells > MAX_SHEET_CELLS:
            raise SourceBoundsError(
                f"{self.where} uses {self.last_row:,} rows x {self.last_column:,} "
                f"columns ({cells:,} cells), above the bound of {MAX_SHEET_CELLS:,} cells; "
                "delete the stray cells far from the data"
            )


def _scan(archive: zipfile.ZipFile, member: str, where: str, *, sheet: bool) -> None:
    """Inflate ``member`` once within the bounds."""
    scan = PartScan(archive.getinfo(member), where, sheet=sheet)
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            scan.feed(chunk)
    scan.finish()


def open_archive(path: Path, data: bytes | None = None) -> zipfile.ZipFile:
    """The workbook as a zip archive: ``data`` (its bytes, already read) when given, else the
    file at ``path``."""
    return zipfile.ZipFile(path if data is None else io.BytesIO(data))


def check_sheet_bounds(path: Path, sheet: str, data: bytes | None = None) -> None:
    """Raise :class:`SourceBoundsError` naming the file and sheet when reading ``sheet`` of the
    workbook at ``path`` (or of its bytes ``data``) would exceed the bounds above. Unknown
    layouts pass (the reader then reports what it finds). The parts it scans are read whole, so
    zipfile has checked their CRC-32 as well."""
    try:
        with open_archive(path, data) as archive:
            member = sheet_member(archive, sheet)
            names = set(archive.namelist())
            if member is None or member not in names:
                return
            _scan(archive, member, f"{path}: sheet {sheet!r}", sheet=True)
            if "xl/sharedStrings.xml" in names:
                _scan(archive, "xl/sharedStrings.xml", f"{path}: shared strings", sheet=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error) as exc:
        raise SourceBoundsError(f"{path}: cannot be read as an .xlsx workbook: {exc}") from exc
