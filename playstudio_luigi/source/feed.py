"""Listing the source: one workbook, a folder of export files (recursive), or a glob.

DESIGN section 3.1. Listing costs one ``stat`` per file and reads no content: the catalog
(:mod:`playstudio_luigi.source.catalog`) recognises files it has indexed by their stat, so a
cron run over a year of 5-minute exports (105,120 files) hashes and parses only the new ones.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from playstudio_luigi.source.formats import SUPPORTED_SUFFIXES
from playstudio_luigi.source.reader import SourceFormatError

_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class ExportFile:
    """One export file as listed: its path and the stat fields that identify its content.

    ``ctime`` cannot be set back by ``touch``/``utime``: a file rewritten with its old size
    and mtime restored still has another identity."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str, stat: os.stat_result) -> ExportFile:
        return cls(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)

    @property
    def identity(self) -> tuple[int, int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)

    @property
    def modified_at(self) -> datetime:
        """The file's mtime as a naive UTC datetime (microseconds): when it was exported."""
        moment = datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)
        return moment.replace(tzinfo=None)


def is_glob(spec: str) -> bool:
    return any(character in _GLOB_CHARACTERS for character in spec)


def _is_export_name(name: str) -> bool:
    # Hidden files and Excel's lock files (~$name.xlsx) are nobody's export; temporary names
    # (name.xlsx.tmp) have another suffix and are left out by it.
    return not name.startswith((".", "~$")) and name.lower().endswith(SUPPORTED_SUFFIXES)


def list_exports(spec: str | os.PathLike[str]) -> list[ExportFile]:
    """Every export file of the source ``spec``, sorted by path.

    ``spec`` names one file (any supported format), a folder (every supported file below it,
    hidden ones excepted) or a glob (``**`` recurses). A folder or glob matching nothing is an
    empty source (every interval then waits for its export); a path that does not exist, or a
    single file of an unsupported kind, is a :class:`SourceFormatError` naming it.
    """
    spec = os.fspath(Path(spec).expanduser()) if not is_glob(str(spec)) else str(spec)
    if is_glob(spec):
        found = []
        for name in glob.iglob(os.path.expanduser(spec), recursive=True):
            if _is_export_name(os.path.basename(name)):
                found.extend(_stat(name))
        return sorted(found, key=lambda f: f.path)
    if os.path.isdir(spec):
        return sorted(_walk(spec), key=lambda f: f.path)
    try:
        stat = os.stat(spec)
    except OSError as exc:
        raise SourceFormatError(f"{spec}: source cannot be read: {exc.strerror}") from exc
    if not spec.lower().endswith(SUPPORTED_SUFFIXES):
        raise SourceFormatError(
            f"{spec}: not a supported export file (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    return [ExportFile.of(os.path.abspath(spec), stat)]


def _walk(folder: str) -> list[ExportFile]:
    """Every export file below ``folder``, hidden folders and files left out: one ``stat``
    per file (``scandir`` tells files from folders without one)."""
    found, pending = [], [os.path.abspath(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except FileNotFoundError:  # removed while listed
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif _is_export_name(entry.name) and entry.is_file():
                try:
                    found.append(ExportFile.of(entry.path, entry.stat()))
                except FileNotFoundError:
                    continue
    return found


def _stat(path: str) -> list[ExportFile]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:  # removed between the listing and the stat
        return []
    if not os.path.isfile(path):
        return []
    return [ExportFile.of(os.path.abspath(path), stat)]
