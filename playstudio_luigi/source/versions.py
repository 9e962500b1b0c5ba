"""Source versions: each workbook content is parsed once and served as interval slices.

A version is identified by the SHA-256 of the file's bytes. The first task that needs a sheet of
a version parses it with :func:`read_sheet` and stores it, sorted by event time, as a verified
Arrow IPC file (:mod:`playstudio_luigi.source.parse_cache`) under
``<home>/cache/sources/<sha256>/``; every later task (in this process or another one on the same
machine) memory-maps that file and filters its interval. A backfill over 288 intervals therefore
parses a given workbook once. The cache is an optimisation only: a worker on another machine
builds its own, and correctness never depends on it, because nothing in it is trusted unchecked:

* **What is parsed is what is hashed.** The parse reads the workbook's bytes once (refusing
  them if the file's size, mtime or ctime moved during the read), hashes *those* bytes and
  parses them from memory; rows are filed under a version only if the hash is the version's.
  A workbook whose zip parts do not all match their CRC-32 (half-written, or rewritten in place
  without truncation) is refused as a whole (:func:`~playstudio_luigi.source.reader.check_archive`).
* **The version of the file now at the path** is its SHA-256, remembered in a small sidecar per
  (path, device, inode, size, mtime, ctime) so that the hundreds of tasks of a backfill do not
  each hash the workbook. ctime cannot be set back by ``touch``/``utime``, so a same-size copy
  with its old mtime restored has another stamp; and the sidecar also records the zip's central
  directory listing (every part's CRC-32 and sizes, read from the end of the file in well under
  a millisecond), so a content change that keeps the whole stamp (coarse timestamps, a clock
  set back) still misses the sidecar. A sidecar whose recorded stamp or listing differs (swapped,
  emptied, another version's hash written into it) is warned about and replaced by a re-hash.
* **A cache file** is verified (trailer naming its version and sheet, checksum of the body,
  schema) before Arrow reads a byte of it. A damaged one costs a warning naming the file and a
  re-parse; a cache that cannot be written (disk full) costs a warning, and the parse is used
  from memory. Nothing damaged can crash the process, serve another version's rows, or block
  later runs.

The in-process ``lru_cache`` keeps verified tables, so the check is paid once per process and
sheet: about 10-20 ms for the 103 MB cache of 1M purchases (README, Reliability).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from playstudio_luigi.intervals import Interval
from playstudio_luigi.source.formats import read_export
from playstudio_luigi.source.parse_cache import (
    CacheDamaged,
    atomic_file,
    locked,
    make_dir,
    read_table,
    remove_temporaries,
    write_table,
)
from playstudio_luigi.source.reader import SourceFormatError, extract_schema
from playstudio_luigi.source.schema import LAYOUTS, SheetLayout

log = logging.getLogger(__name__)

#: Parsed versions no listed export has any more stay this long: runs in flight may read them.
PRUNE_GRACE_SECS = 3600
#: Sidecars written longer ago are removed (one is written per stamp, so one per export); a
#: removed sidecar costs one hash of the workbook.
SIDECAR_MAX_AGE_SECS = 24 * 3600
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SourceVersion:
    """One content version of the source workbook."""

    path: Path
    sha256: str
    cache_dir: Path

    def sheet(self, kind: str) -> pa.Table:
        """The whole parsed sheet (``kind`` is ``purchases`` or ``spins``), sorted by time."""
        return _load_sheet(self.path, self.sha256, self.cache_dir, kind)

    def slice(self, kind: str, interval: Interval) -> pa.Table:
        """Rows of ``kind`` whose event time lies in ``interval``, in source-row order."""
        table = self.sheet(kind)
        times = table["event_time"]
        start = pa.scalar(interval.start, pa.timestamp("s"))
        end = pa.scalar(interval.end, pa.timestamp("s"))
        mask = pc.and_(pc.greater_equal(times, start), pc.less(times, end))
        return table.filter(mask).sort_by("source_row")

    def undated(self, kind: str) -> pa.Table:
        """Rows of ``kind`` without a readable date: they belong to no interval."""
        table = self.sheet(kind)
        return table.filter(pc.is_null(table["event_time"]))


class SourceChangedError(SourceFormatError):
    """The workbook changed while it was read, or since its version was taken: rerun."""


def file_sha256(path: Path) -> str:
    """SHA-256 of the file at ``path``, streamed."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    keys = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
    return all(getattr(a, key) == getattr(b, key) for key in keys)


def read_source(path: Path) -> bytes:
    """The bytes of the workbook at ``path``, read once; :class:`SourceChangedError` if the
    file was written to while it was read (its size, mtime or ctime moved)."""
    with open(path, "rb") as stream:
        before = os.fstat(stream.fileno())
        data = stream.read()
        after = os.fstat(stream.fileno())
    if not _same_file(before, after) or len(data) != after.st_size:
        raise SourceChangedError(f"{path}: the workbook was being written while it was read; rerun")
    return data


def archive_listing(path: Path) -> str | None:
    """SHA-256 of the zip central directory's listing of ``path`` (name, CRC-32, sizes and
    offset of every part), or None when it is not a readable zip. Reads only the end of the
    file; any change of a part's content changes its CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            listing = [
                (i.filename, i.CRC, i.compress_size, i.file_size, i.header_offset)
                for i in archive.infolist()
            ]
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return None
    return hashlib.sha256(repr(listing).encode()).hexdigest()


def _stamp(path: Path, stat: os.stat_result) -> str:
    return (
        f"{path.resolve()}|{stat.st_dev}|{stat.st_ino}|{stat.st_size}|"
        f"{stat.st_mtime_ns}|{stat.st_ctime_ns}"
    )


def _read_sidecar(sidecar: Path, stamp: str, listing: str | None) -> str | None:
    """The hash remembered for ``stamp``, or None (warned about when the sidecar is damaged or
    does not describe the file now at the path)."""
    try:
        text = sidecar.read_text(errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("hash sidecar %s cannot be read (%s): hashing the workbook again", sidecar, exc)
        return None
    sha, _, rest = text.partition(" ")
    recorded_listing, _, recorded_stamp = rest.partition(" ")
    if not _SHA256.fullmatch(sha) or recorded_stamp != f"{stamp}\n":
        problem = "damaged, or another file's"
    elif listing is None or recorded_listing != listing:
        problem = "the workbook's content changed but not its inode, size, mtime and ctime"
    else:
        return sha
    log.warning(
        "hash sidecar %s does not match the workbook (%s): hashing it again", sidecar, problem
    )
    return None


def current_version(path: Path, cache_root: Path) -> SourceVersion:
    """The version of the workbook now at ``path`` (see the module docstring for how the hash
    is remembered and when it is recomputed)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise SourceFormatError(f"{path}: source workbook cannot be read: {exc}") from exc
    make_dir(cache_root)
    stamp = _stamp(path, stat)
    listing = archive_listing(path)
    sidecar = cache_root / "hashes" / hashlib.sha256(stamp.encode()).hexdigest()[:32]
    sha = _read_sidecar(sidecar, stamp, listing)
    if sha is None:
        try:
            with open(path, "rb") as stream:
                sha = hashlib.file_digest(stream, "sha256").hexdigest()
                unchanged = _same_file(os.fstat(stream.fileno()), stat)
        except OSError as exc:
            raise SourceFormatError(f"{path}: source workbook cannot be read: {exc}") from exc
        if unchanged and listing is not None and listing == archive_listing(path):
            _write_sidecar(sidecar, f"{sha} {listing} {stamp}\n")
    return SourceVersion(path=path, sha256=sha, cache_dir=cache_root / sha)


def _write_sidecar(sidecar: Path, text: str) -> None:
    try:
        with atomic_file(sidecar) as tmp:
            tmp.write_text(text)
    except OSError as exc:  # only an optimisation: the next task hashes again
        log.warning("cannot write hash sidecar %s (%s)", sidecar, exc)


def cached_schema(layout: SheetLayout) -> pa.Schema:
    """Schema of a parsed sheet as cached: the extract schema. (Conflicting duplicates are
    decided in silver, over everything loaded: ``sql/silver/silver_purchases.sql``.)"""
    return extract_schema(layout)


def _verified(arrow_file: Path, sha: str, kind: str, *, warn: bool) -> pa.Table | None:
    try:
        return read_table(
            arrow_file, kind=kind, source_sha256=sha, schema=cached_schema(LAYOUTS[kind])
        )
    except FileNotFoundError:
        return None
    except (CacheDamaged, OSError) as exc:
        if warn:
            log.warning(
                "parse cache %s failed verification (%s): parsing the workbook again",
                arrow_file,
                exc,
            )
        return None


@lru_cache(maxsize=8)
def _load_sheet(path: Path, sha: str, cache_dir: Path, kind: str) -> pa.Table:
    arrow_file = cache_dir / f"{kind}.arrow"
    table = _verified(arrow_file, sha, kind, warn=False)
    if table is not None:
        return table
    # One parser per version and sheet, even with many worker processes.
    with locked(cache_dir.parent / f".{sha}.{kind}.lock"):
        table = _verified(arrow_file, sha, kind, warn=True)  # another process may have parsed it
        if table is not None:
            return table
        parsed = _parse(path, sha, LAYOUTS[kind])
        remove_temporaries(cache_dir, arrow_file.name)
        try:
            write_table(arrow_file, parsed, kind=kind, source_sha256=sha)
        except OSError as exc:
            log.warning(
                "cannot write parse cache %s (%s): using the parse from memory", arrow_file, exc
            )
            return parsed
    # Served from the file (shared page cache) rather than from the parse's heap.
    written = _verified(arrow_file, sha, kind, warn=True)
    return parsed if written is None else written


@contextmanager
def _system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's heap for the duration: the reader's cells are
    freed to that heap, and Arrow's own pool (jemalloc or mimalloc) could not reuse them, so
    the two would add up (1M purchases: 1.1 GB peak instead of 0.85 GB)."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _parse(path: Path, sha: str, layout: SheetLayout) -> pa.Table:
    """``layout``'s sheet of the version ``sha`` of the workbook at ``path``, sorted by time."""
    with _system_allocator():
        data = read_source(path)
        if hashlib.sha256(data).hexdigest() != sha:
            raise SourceChangedError(
                f"{path}: the workbook changed after its version {sha[:12]} was taken; rerun"
            )
        table = read_export(path, layout, data)
        del data
        return table.sort_by([("event_time", "ascending"), ("source_row", "ascending")])


def prune_cache(cache_root: Path, in_use: set[str]) -> None:
    """Remove parsed versions no listed export has any more (after :data:`PRUNE_GRACE_SECS`, as
    runs in flight may still read them), and sidecars older than a day (one is written per
    stamp, so per export). Versions in use are never evicted, however many files the feed has."""
    cutoff = time.time() - SIDECAR_MAX_AGE_SECS
    with suppress(FileNotFoundError):
        for sidecar in (cache_root / "hashes").iterdir():
            with suppress(FileNotFoundError):
                if sidecar.stat().st_mtime < cutoff:
                    sidecar.unlink()
    grace = time.time() - PRUNE_GRACE_SECS
    with suppress(FileNotFoundError):
        for old in cache_root.iterdir():
            if not (old.is_dir() and _SHA256.fullmatch(old.name)) or old.name in in_use:
                continue
            with suppress(FileNotFoundError):
                if old.stat().st_mtime < grace:
                    shutil.rmtree(old, ignore_errors=True)
