"""The catalog of source files, in PostgreSQL: each export file version indexed once.

DESIGN section 3.1. The source is one workbook, a folder or a glob of export files
(:mod:`playstudio_luigi.source.feed`). A run *syncs* the catalog before it reads anything:

1. it lists the source (one ``stat`` per file, no content read) and copies the listing into a
   temporary table of its own session;
2. files whose stat (size, mtime, ctime, inode) matches their row in ``ops.source_files`` are
   known; the others (found by a join in PostgreSQL) are hashed and parsed (once per machine:
   the local parse cache of :mod:`playstudio_luigi.source.versions`), and recorded with, per
   sheet, the row counts, the event-time range and one fingerprint per interval holding rows
   (``ops.source_slices``);
3. files no longer listed (an anti-join) are removed from the catalog;
4. the run keeps only small answers: each sheet's newest readable export, the few exports that
   cannot be read, and its *snapshot*, two sorted arrays of 64-bit keys (the listed files'
   path and version; 16 bytes a file). The rows themselves stay in PostgreSQL: which files
   hold an interval, undated rows or slices is asked there (indexed, migration 0008), and an
   answer keeps only the file versions of the run's own sync.

Every machine sees the same catalog, so a file is hashed and summarised once per content, and
parsed once per machine that reads it. A run then reads only the files whose event-time range
overlaps its intervals, and holds in memory what they are, whatever the length of the feed's
history. A source that is one workbook has each sheet indexed by the first run that needs it
(a 5-minute run parses Purchases only); what the workbook lacks is then that sheet's error.

Nothing in the catalog is trusted for the rows themselves: a file a run reads is checked to be
the version the catalog names (its hash, through the per-machine sidecar that also compares the
zip listing, and again on the bytes parsed), and a mismatch is an error that re-indexes it.

A file that cannot be read (garbage, a missing column, caught half-written) is recorded with
its error, named in a warning by every run that lists it, and read by none. It holds each
sheet's watermark back to its own mtime: it may hold any sheet's rows up to then, so nothing
after it is taken as covered until it is readable (fixed, rewritten, or removed).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2.extras import execute_values

from playstudio_luigi import config, intervals
from playstudio_luigi.alerts.stale import SheetHealth, report_source_health
from playstudio_luigi.db.connection import connect, database_url, reader, transaction
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import Interval
from playstudio_luigi.private import private_home
from playstudio_luigi.source.feed import ExportFile, is_glob, list_exports
from playstudio_luigi.source.formats import sheet_kinds
from playstudio_luigi.source.reader import SourceFormatError
from playstudio_luigi.source.schema import LAYOUTS, SheetLayout
from playstudio_luigi.source.versions import (
    SourceChangedError,
    SourceVersion,
    current_version,
    prune_cache,
)
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

log = logging.getLogger("luigi-interface")

#: Fingerprint of an interval no file holds rows of.
EMPTY_FINGERPRINT = hashlib.sha256(b"").hexdigest()
#: New or changed files indexed per transaction: a first sync of a year of files holds this
#: many results at a time, and keeps what it wrote if it is stopped.
INDEX_BATCH = 500
#: Listed files per COPY into the session's listing table.
COPY_BATCH = 20_000

_KIND_OF = {layout.name: layout.kind for layout in LAYOUTS.values()}


@dataclass(frozen=True)
class SheetSummary:
    """What one file version holds of one sheet."""

    source_rows: int
    undated_rows: int
    first_event: datetime | None
    last_event: datetime | None
    #: Why the sheet cannot be read in this file (a missing column, say), or None.
    error: str | None = None

    def overlaps(self, interval: Interval) -> bool:
        if self.first_event is None or self.last_event is None:
            return False
        return self.first_event < interval.end and self.last_event >= interval.start


@dataclass(frozen=True)
class CatalogFile:
    """One listed export file as the catalog knows it."""

    listed: ExportFile
    sha256: str | None
    error: str | None
    sheets: dict[str, SheetSummary] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.listed.path


@dataclass(frozen=True)
class Watermark:
    """How far the source covers one sheet (DESIGN 3.3): the mtime of the newest readable
    export holding it, never later than now nor than any unreadable export's mtime."""

    sheet: str
    at: datetime | None
    newest_file: str | None
    held_by: str | None = None  # the unreadable export holding it back, if any

    def covers(self, interval: Interval, lateness: timedelta) -> bool:
        return self.at is not None and self.at >= interval.end + lateness

    def describe(self) -> str:
        if self.at is None:
            where = "no readable export holds the sheet yet"
        else:
            where = f"newest export written at {self.at:%Y-%m-%d %H:%M:%S} UTC"
        if self.held_by is not None:
            where += f", held back by {self.held_by}, which cannot be read"
        return where


@dataclass(frozen=True)
class Problem:
    """A listed export that cannot be read: as a whole (``kind`` None) or one sheet of it."""

    file: CatalogFile
    reason: str
    kind: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Which file versions one sync listed, as sorted 64-bit keys (PostgreSQL's
    ``hashtextextended``): of ``path TAB sha256`` for every listed file (``sha256`` empty when
    it cannot be read), and of the path of every readable one."""

    versions: np.ndarray
    readable_paths: np.ndarray

    @staticmethod
    def of(versions: Sequence[int], readable_paths: Sequence[int]) -> Snapshot:
        return Snapshot(
            np.sort(np.asarray(versions, dtype=np.int64)),
            np.sort(np.asarray(readable_paths, dtype=np.int64)),
        )

    def has_version(self, key: int) -> bool:
        return _member(self.versions, key)

    def has_readable_path(self, key: int) -> bool:
        return _member(self.readable_paths, key)


def _member(keys: np.ndarray, key: int) -> bool:
    at = int(np.searchsorted(keys, key))
    return at < len(keys) and int(keys[at]) == key


@dataclass
class Catalog:
    """The source after a sync: what a run reads, and how far the source covers. It holds
    small answers only (see the module docstring); the file rows are asked in PostgreSQL."""

    source: str
    #: The source is a single file: what it lacks is an error of that file, not a wait.
    single_file: bool
    synced_at: datetime
    cache_root: Path
    snapshot: Snapshot
    #: How many files the sync listed.
    file_count: int = 0
    #: Per sheet (kind): the newest readable listed export holding it, ``(path, mtime_ns)``.
    newest: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: Per sheet (kind): the earliest and latest event time the readable listed exports hold.
    bounds: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: The one file of a single-file source, with the sheets indexed so far.
    only: CatalogFile | None = None
    #: ``[playstudio] watermark`` as read at the sync (reading a luigi.Config costs about a
    #: millisecond, and runs ask for the watermark of every interval).
    watermark_mode: str = "mtime"
    _exported: dict[str, Watermark] = field(default_factory=dict, repr=False)

    @property
    def files(self) -> list[CatalogFile]:
        """Every listed file as the catalog knows it: one object per file of the source's
        history, read from PostgreSQL on each call (for tools; a run asks the methods below)."""
        if self.single_file:
            return [] if self.only is None else [self.only]
        cursor = reader().cursor()
        cursor.execute(render("source/catalog_files.sql"), {"source": self.source})
        found: dict[str, CatalogFile] = {}
        for path, size, mtime_ns, ctime_ns, inode, sha, error, key, sheet, *summary in cursor:
            if not self.snapshot.has_version(key):
                continue
            entry = found.setdefault(
                path, CatalogFile(ExportFile(path, size, mtime_ns, ctime_ns, inode), sha, error)
            )
            if sheet is not None:
                entry.sheets[_KIND_OF[sheet]] = SheetSummary(*summary)
        return list(found.values())

    def only_file(self, *layouts: SheetLayout) -> CatalogFile | None:
        """A single-file source's file, with ``layouts``' sheets indexed (if readable)."""
        self._index_sheets(layouts)
        return self.only

    def holding(self, layout: SheetLayout) -> list[CatalogFile]:
        """The readable files holding ``layout``'s sheet. One object per file of the source's
        history: runs ask :meth:`versions_covering` instead."""
        self._index_sheets([layout])
        cursor = reader().cursor()
        cursor.execute(render("source/holding.sql"), {"source": self.source, "sheet": layout.name})
        found = []
        for path, size, mtime_ns, ctime_ns, inode, sha, _, key, *summary in cursor:
            if self.snapshot.has_version(key):
                listed = ExportFile(path, size, mtime_ns, ctime_ns, inode)
                found.append(CatalogFile(listed, sha, None, {layout.kind: SheetSummary(*summary)}))
        return found

    def unreadable(self, layout: SheetLayout) -> list[tuple[CatalogFile, str]]:
        """The files that may hold ``layout``'s sheet but cannot be read, with the reason."""
        self._index_sheets([layout])
        return [
            (problem.file, problem.reason)
            for problem in self._problems()
            if problem.kind in (None, layout.kind)
        ]

    def errors(self) -> list[str]:
        """Every reason a listed file (or a sheet of one indexed so far) cannot be read."""
        return list(dict.fromkeys(problem.reason for problem in self._problems()))

    def _problems(self) -> list[Problem]:
        if not self.single_file or self.only is None:
            return self.problems
        return _problems_of(self.only)

    def event_bounds(self) -> tuple[datetime, datetime] | None:
        """The earliest and the latest event time the readable exports hold, of any sheet."""
        if self.single_file:
            only = self.only_file(*LAYOUTS.values())
            ranges = [] if only is None or only.error else list(only.sheets.values())
            pairs = [(s.first_event, s.last_event) for s in ranges]
        else:
            pairs = list(self.bounds.values())
        firsts = [first for first, _ in pairs if first is not None]
        lasts = [last for _, last in pairs if last is not None]
        return (min(firsts), max(lasts)) if firsts and lasts else None

    def watermark(self, layout: SheetLayout, mode: str | None = None) -> Watermark:
        """The watermark of ``layout``'s sheet (``mode`` ``none``: the clock, i.e. now)."""
        now = self.synced_at
        if (mode or self.watermark_mode) == "none":
            return Watermark(layout.name, now, None)
        if layout.kind not in self._exported:  # once per sheet: runs ask for every interval
            self._exported[layout.kind] = self._newest_export(layout)
        found = self._exported[layout.kind]
        at = None if found.at is None else min(found.at, now)
        return Watermark(found.sheet, at, found.newest_file, found.held_by)

    def _newest_export(self, layout: SheetLayout) -> Watermark:
        """The watermark before it is capped at now."""
        if self.single_file and self.only is not None:
            # One workbook: its mtime, readable or not; what it lacks is the extract's error
            return Watermark(layout.name, self.only.listed.modified_at, self.only.path)
        newest = self.newest.get(layout.kind)
        at = None if newest is None else _modified_at(newest[1])
        blocking = min(
            (f for f, _ in self.unreadable(layout)), key=lambda f: f.listed.mtime_ns, default=None
        )
        held_by = None
        if blocking is not None and at is not None and blocking.listed.modified_at < at:
            at, held_by = blocking.listed.modified_at, blocking.path
        return Watermark(layout.name, at, None if newest is None else newest[0], held_by)

    def covers(self, layout: SheetLayout, interval: Interval, lateness: timedelta) -> bool:
        """True once the source covers ``interval`` of ``layout``'s sheet: its watermark has
        passed the interval's end plus ``lateness`` (with ``watermark = none``: the clock)."""
        return self.watermark(layout).covers(interval, lateness)

    def waiting_message(
        self, layout: SheetLayout, waiting: Sequence[Interval], lateness: timedelta
    ) -> str:
        """One line: which intervals wait for the export, and why."""
        first = waiting[0]
        what = (
            f"{layout.name} {first}"
            if len(waiting) == 1
            else (f"{len(waiting)} {layout.name} intervals from {first.start:%Y-%m-%d %H:%M}")
        )
        needs = first.end + lateness
        return (
            f"waiting for the export: {what} needs an export written at or after "
            f"{needs:%Y-%m-%d %H:%M:%S} UTC ({self.watermark(layout).describe()}); "
            "nothing was loaded for it"
        )

    def versions_covering(self, layout: SheetLayout, interval: Interval) -> list[SourceVersion]:
        """The file versions holding rows of ``layout`` in ``interval``, by path."""
        self._index_sheets([layout])
        cursor = reader().cursor()
        cursor.execute(
            render("source/versions_covering.sql"),
            {
                "source": self.source,
                "sheet": layout.name,
                "start": interval.start,
                "end": interval.end,
            },
        )
        return [self._version(path, sha) for path, sha, *_ in self._listed(cursor.fetchall())]

    def versions_with_undated(self, layout: SheetLayout) -> list[tuple[SourceVersion, int]]:
        """The file versions holding rows of ``layout`` without a readable date, with how
        many each holds."""
        self._index_sheets([layout])
        cursor = reader().cursor()
        cursor.execute(
            render("source/versions_undated.sql"), {"source": self.source, "sheet": layout.name}
        )
        return [
            (self._version(path, sha), undated)
            for path, sha, _, _, undated in self._listed(cursor.fetchall())
        ]

    def _listed(self, rows: Iterable[tuple]) -> list[tuple]:
        """The rows ``(path, sha256, path key, version key, ...)`` of file versions this sync
        listed. A readable file listed here that the catalog now names in another version was
        re-indexed since (it changed): its rows would not be this run's, so the run stops."""
        kept = []
        for row in rows:
            path, _, path_key, version_key = row[:4]
            if self.snapshot.has_version(version_key):
                kept.append(row)
            elif self.snapshot.has_readable_path(path_key):
                forget_memo()
                raise SourceChangedError(
                    f"{path}: the export changed since this run listed it (another run indexed "
                    "its new version); rerun"
                )
        return kept

    def _version(self, path: str, sha256: str) -> SourceVersion:
        return SourceVersion(Path(path), sha256, self.cache_root / sha256)

    def fingerprints(self, layout: SheetLayout, starts: Sequence[datetime]) -> dict[datetime, str]:
        """Each interval's fingerprint: which files hold rows of it, and what rows."""
        self._index_sheets([layout])
        cursor = reader().cursor()
        cursor.execute(
            render("source/interval_slices.sql"),
            {"source": self.source, "sheet": layout.name, "starts": list(starts)},
        )
        parts: dict[datetime, list[tuple[str, str]]] = {start: [] for start in starts}
        for interval_start, path, _, fingerprint, _, key in cursor.fetchall():
            if self.snapshot.has_version(key):  # not a file indexed by another run after this sync
                parts[interval_start].append((path, fingerprint))
        return {start: combine_fingerprints(found) for start, found in parts.items()}

    def check_current(self, version: SourceVersion) -> None:
        """Raise :class:`SourceChangedError` (and forget the file) unless the file now at the
        version's path is that version: checked before its rows are used."""
        now_there = current_version(version.path, self.cache_root)
        if now_there.sha256 != version.sha256:
            forget_file(self.source, str(version.path))
            raise SourceChangedError(
                f"{version.path}: the export changed since it was indexed "
                f"({version.sha256[:12]} then, {now_there.sha256[:12]} now); rerun"
            )

    def _index_sheets(self, layouts: Iterable[SheetLayout]) -> None:
        """A single workbook's sheets are indexed when a run first needs them: those of
        ``layouts`` not in the catalog yet are parsed and recorded now."""
        only = self.only
        if not self.single_file or only is None or only.sha256 is None or only.error:
            return
        missing = [layout for layout in layouts if layout.kind not in only.sheets]
        if not missing:
            return
        version = self._version(only.path, only.sha256)
        sheets = dict(only.sheets)
        for layout in missing:
            try:
                summary, slices = _index_sheet(version, layout)
            except SourceChangedError:  # rewritten since the sync: the next run indexes it
                forget_file(self.source, only.path)
                raise
            _write_sheet(only.sha256, layout, summary, slices)
            sheets[layout.kind] = summary
        self.only = replace(only, sheets=sheets)
        self._exported.clear()


def _modified_at(mtime_ns: int) -> datetime:
    return ExportFile("", 0, mtime_ns, 0, 0).modified_at


def _problems_of(entry: CatalogFile) -> list[Problem]:
    if entry.error is not None:
        return [Problem(entry, entry.error)]
    return [Problem(entry, s.error, kind) for kind, s in entry.sheets.items() if s.error]


def combine_fingerprints(parts: Iterable[tuple[str, str]]) -> str:
    """One interval's fingerprint from its ``(path, slice fingerprint)`` parts: a file added,
    changed, moved or removed changes it; an export rewritten with the same rows does not."""
    lines = sorted(f"{path}\t{fingerprint}\n" for path, fingerprint in parts)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def slice_fingerprint(rows: pa.Table) -> str:
    """Content hash of one file's rows of one interval (source rows included), independent of
    how the table is chunked."""
    digest = hashlib.sha256()
    for batch in rows.combine_chunks().to_batches():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def interval_runs(table: pa.Table, width: timedelta) -> list[tuple[datetime, pa.Table]]:
    """``(interval start, rows in source-row order)`` of every interval holding dated rows of
    ``table`` (a parsed sheet, sorted by event time), cut as zero-copy slices."""
    dated = table.filter(pc.is_valid(table["event_time"]))
    if not dated.num_rows:
        return []
    minutes = int(width.total_seconds() // 60)
    floors = pc.floor_temporal(dated["event_time"], multiple=minutes, unit="minute")
    keys = floors.cast(pa.int64()).to_numpy()
    bounds = np.flatnonzero(np.diff(keys)) + 1
    offsets = [0, *bounds.tolist(), len(keys)]
    starts = floors.take(pa.array(offsets[:-1])).to_pylist()
    return [
        (start, dated.slice(lo, hi - lo).sort_by("source_row"))
        for start, lo, hi in zip(starts, offsets[:-1], offsets[1:], strict=True)
    ]


@dataclass
class _Indexed:
    listed: ExportFile
    sha256: str | None
    error: str | None
    sheets: dict[str, SheetSummary]
    slices: list[tuple[str, datetime, int, str]]  # (sheet name, start, rows, fingerprint)


def _index_sheet(
    version: SourceVersion, layout: SheetLayout
) -> tuple[SheetSummary, list[tuple[str, datetime, int, str]]]:
    """What one version holds of one sheet, and its slices; the sheet's error if it cannot be
    read (a :class:`SourceChangedError` is raised: the file is being written)."""
    try:
        table = version.sheet(layout.kind)
    except SourceChangedError:
        raise
    except SourceFormatError as exc:
        return SheetSummary(0, 0, None, None, str(exc)), []
    dated = pc.drop_null(table["event_time"])
    summary = SheetSummary(
        table.num_rows,
        table.num_rows - len(dated),
        pc.min(dated).as_py() if len(dated) else None,
        pc.max(dated).as_py() if len(dated) else None,
    )
    slices = [
        (layout.name, start, rows.num_rows, slice_fingerprint(rows))
        for start, rows in interval_runs(table, layout.width)
    ]
    return summary, slices


def _index(listed: ExportFile, cache_root: Path, single_file: bool) -> _Indexed:
    """Hash and parse one new or changed export file; its error instead if it cannot be read
    (as a whole, or one sheet of it). A source that is one workbook is only hashed here: each
    sheet is indexed when a run first needs it (:meth:`Catalog.only_file`), and what the
    workbook lacks is then that sheet's error, not the other's."""
    path = Path(listed.path)
    try:
        version = current_version(path, cache_root)
        if single_file and path.suffix.lower() == ".xlsx":
            kinds = []
        else:
            kinds = [LAYOUTS[kind] for kind in sheet_kinds(path)]
        sheets, slices = {}, []
        for layout in kinds:
            sheets[layout.kind], found = _index_sheet(version, layout)
            slices.extend(found)
    except SourceChangedError as exc:  # being written: the next run indexes it whole
        return _Indexed(listed, None, str(exc), {}, [])
    except SourceFormatError as exc:
        return _Indexed(listed, None, str(exc), {}, [])
    return _Indexed(listed, version.sha256, None, sheets, slices)


def source_spec() -> str:
    """The configured source as a catalog key: an absolute path, or the glob as given."""
    raw = str(config.source_path())
    return raw if is_glob(raw) else os.path.abspath(raw)


# One sync per listing per process: a listing identical to the last one (every file's stat,
# as a digest) means the catalog built from it still holds; the listing itself is always fresh.
_last: dict[tuple[str, str], tuple[bytes, Catalog]] = {}
#: When (monotonic clock) each memo's sync finished: ``reuse_within`` counts from there.
_finished: dict[tuple[str, str], float] = {}


def sync(spec: str | None = None, *, reuse_within: float = 0.0) -> Catalog:
    """List the source, index what is new or changed, and return the catalog of its files.

    ``reuse_within`` (seconds): a catalog this process finished syncing that recently is returned
    without listing again. Only for questions where an older answer errs on the safe side
    (Luigi's completeness checks: is this interval covered yet? a watermark only moves
    forward); a task reading rows lists afresh, so it reads the files there now.
    """
    spec = spec or source_spec()
    memo_key = (spec, database_url())  # another warehouse has another catalog
    memo = _last.get(memo_key)
    recent = time.monotonic() - _finished.get(memo_key, -1e9) < reuse_within
    if memo is not None and recent:
        return memo[1]
    listed_at = intervals.utcnow()  # the business clock (tests move it): the watermark's "now"
    listed_wall = datetime.now(UTC)  # the real one, compared with the database's now()
    listing = list_exports(spec)
    single_file = not is_glob(spec) and not os.path.isdir(spec)
    cache_root = private_home(config.home_dir()) / "cache" / "sources"
    key = _listing_digest(listing)
    mode = config.watermark_mode()
    if memo is not None and memo[0] == key:
        memo[1].synced_at, memo[1].watermark_mode = listed_at, mode
        _finished[memo_key] = time.monotonic()
        return memo[1]
    catalog = _synced(spec, listing, single_file, cache_root, listed_at, listed_wall)
    catalog.watermark_mode = mode
    for reason in catalog.errors():
        log.warning("source export not read: %s", reason)
    _last[memo_key] = (key, catalog)
    _finished[memo_key] = time.monotonic()
    _report_health(catalog)
    return catalog


def _listing_digest(listing: Sequence[ExportFile]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for f in listing:
        digest.update(f"{f.path}\0{f.size}\0{f.mtime_ns}\0{f.ctime_ns}\0{f.inode}\n".encode())
    return digest.digest()


def _synced(
    spec: str,
    listing: Sequence[ExportFile],
    single_file: bool,
    cache_root: Path,
    listed_at: datetime,
    listed_wall: datetime,
) -> Catalog:
    """Compare ``listing`` with the catalog in PostgreSQL (the listing copied into a temporary
    table of one session, closed at the end), index and record what differs, and read the
    small answers a run needs."""
    connection = connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(render("source/listing_create.sql"))
            _copy_listing(cursor, listing)
            cursor.execute(render("source/listing_changed.sql"), {"source": spec})
            changed = [(ExportFile(*row[:5]), row[5]) for row in cursor.fetchall()]
            cursor.execute(render("source/listing_removed.sql"), {"source": spec})
            removed = cursor.fetchall()
        for batch in _batches(changed, INDEX_BATCH):
            fresh = [_index(listed, cache_root, single_file) for listed, _ in batch]
            _write(spec, fresh)
        if removed:
            _remove(spec, [path for path, _ in removed], listed_wall)
        if unused := {sha for _, sha in changed if sha} | {sha for _, sha in removed if sha}:
            # a new file evicts nothing: the parse cache is walked only when versions go
            _forget_unused(unused)
            prune_cache(cache_root, _versions_in_use())
        connection.set_session(
            isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True
        )
        with connection, connection.cursor() as cursor:  # one snapshot for every answer
            return _read_answers(cursor, spec, listing, single_file, cache_root, listed_at)
    finally:
        connection.close()


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _copy_listing(cursor: psycopg2.extensions.cursor, listing: Sequence[ExportFile]) -> None:
    """Stream the listing's stats into the session's listing table, a batch per COPY."""
    for batch in _batches(listing, COPY_BATCH):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows((f.path, f.size, f.mtime_ns, f.ctime_ns, f.inode) for f in batch)
        buffer.seek(0)
        cursor.copy_expert(render("source/listing_copy.sql"), buffer)
    cursor.execute(render("source/listing_analyze.sql"))


def _read_answers(
    cursor: psycopg2.extensions.cursor,
    spec: str,
    listing: Sequence[ExportFile],
    single_file: bool,
    cache_root: Path,
    listed_at: datetime,
) -> Catalog:
    cursor.execute(render("source/listing_keys.sql"), {"source": spec})
    versions, readable_paths = cursor.fetchone()
    catalog = Catalog(
        spec,
        single_file,
        listed_at,
        cache_root,
        Snapshot.of(versions, readable_paths),
        len(listing),
    )
    if single_file:
        catalog.only = _only_file(cursor, spec, listing[0]) if listing else None
        return catalog
    cursor.execute(render("source/listing_newest.sql"), {"source": spec})
    for sheet, path, mtime_ns, first_event, last_event in cursor.fetchall():
        kind = _KIND_OF[sheet]
        catalog.bounds[kind] = (first_event, last_event)
        if path is not None:
            catalog.newest[kind] = (path, mtime_ns)
    cursor.execute(render("source/listing_problems.sql"), {"source": spec})
    for path, size, mtime_ns, ctime_ns, inode, sha, error, sheet, sheet_error in cursor:
        entry = CatalogFile(ExportFile(path, size, mtime_ns, ctime_ns, inode), sha, error)
        if error is not None:
            catalog.problems.append(Problem(entry, error))
        if sheet is not None:
            catalog.problems.append(Problem(entry, sheet_error, _KIND_OF[sheet]))
    return catalog


def _only_file(cursor: psycopg2.extensions.cursor, spec: str, listed: ExportFile) -> CatalogFile:
    """A single-file source's file with the sheets indexed so far."""
    cursor.execute(render("source/file_sheets.sql"), {"source": spec, "path": listed.path})
    rows = cursor.fetchall()
    sha, error = rows[0][:2] if rows else (None, f"{listed.path}: not indexed")
    sheets = {_KIND_OF[row[2]]: SheetSummary(*row[3:]) for row in rows if row[2] is not None}
    return CatalogFile(listed, sha, error, sheets)


#: A process reports the source's health at most this often (a cron run: once).
HEALTH_EVERY_SECS = 60.0
_health_reported: dict[str, float] = {}


def _report_health(catalog: Catalog) -> None:
    """Record each sheet's watermark and send the stale/recovery alerts due (DESIGN 3.3, 7):
    any run that syncs does it, so cron needs no job of its own. Not for the bundled sample,
    a fixed demo workbook rather than a feed."""
    if catalog.source == str(BUNDLED_SAMPLE) or catalog.watermark_mode == "none":
        return
    last = _health_reported.get(catalog.source)
    if last is not None and time.monotonic() - last < HEALTH_EVERY_SECS:
        return
    _health_reported[catalog.source] = time.monotonic()
    lateness, now = config.allowed_lateness(), catalog.synced_at
    health = []
    for layout in LAYOUTS.values():
        watermark = catalog.watermark(layout)
        waiting = 0
        if watermark.at is not None and now - lateness > watermark.at:
            waiting = int((now - lateness - watermark.at) / layout.width)
        health.append(
            SheetHealth(
                layout.name, watermark.at, watermark.newest_file, waiting, watermark.held_by
            )
        )
    report_source_health(health, now)


def _write(spec: str, fresh: Sequence[_Indexed]) -> None:
    """Record what was indexed, in path order (concurrent syncs take row locks in one order)."""
    with transaction() as connection, connection.cursor() as cursor:
        sheet_rows = sorted(
            {
                (f.sha256, LAYOUTS[kind].name, *astuple(summary))
                for f in fresh
                if f.sha256
                for kind, summary in f.sheets.items()
            },
            key=lambda row: row[:2],
        )
        if sheet_rows:
            execute_values(
                cursor,
                "insert into ops.source_sheets (sha256, sheet, source_rows, undated_rows, "
                "first_event, last_event, error) values %s on conflict do nothing",
                sheet_rows,
                page_size=1000,
            )
        _insert_slices(
            cursor, sorted({(f.sha256, *p) for f in fresh if f.sha256 for p in f.slices})
        )
        for indexed in sorted(fresh, key=lambda f: f.listed.path):
            listed = indexed.listed
            cursor.execute(
                render("source/upsert_file.sql"),
                {
                    "source": spec,
                    "path": listed.path,
                    "size": listed.size,
                    "mtime_ns": listed.mtime_ns,
                    "ctime_ns": listed.ctime_ns,
                    "inode": listed.inode,
                    "modified_at": listed.modified_at,
                    "sha256": indexed.sha256,
                    "error": indexed.error,
                },
            )


def _insert_slices(cursor: psycopg2.extensions.cursor, rows: Sequence[tuple]) -> None:
    if rows:
        execute_values(
            cursor,
            "insert into ops.source_slices (sha256, sheet, interval_start, source_rows, "
            "fingerprint) values %s on conflict do nothing",
            rows,
            page_size=1000,
        )


def _write_sheet(
    sha256: str,
    layout: SheetLayout,
    summary: SheetSummary,
    slices: Sequence[tuple[str, datetime, int, str]],
) -> None:
    """Record one sheet of a version indexed on demand, with its slices, once: a run that
    finds it recorded meanwhile (another machine's) leaves it."""
    with transaction() as connection, connection.cursor() as cursor:
        cursor.execute(
            render("source/insert_sheet.sql"),
            {"sha256": sha256, "sheet": layout.name, **_summary_params(summary)},
        )
        if cursor.rowcount:
            _insert_slices(cursor, sorted((sha256, *piece) for piece in slices))


def _summary_params(summary: SheetSummary) -> dict[str, object]:
    return {
        "source_rows": summary.source_rows,
        "undated_rows": summary.undated_rows,
        "first_event": summary.first_event,
        "last_event": summary.last_event,
        "error": summary.error,
    }


def _remove(spec: str, paths: Sequence[str], listed_at: datetime) -> None:
    with transaction() as connection, connection.cursor() as cursor:
        cursor.execute(
            render("source/remove_files.sql"),
            {"source": spec, "paths": list(paths), "listed_at": listed_at},
        )


def _versions_in_use() -> set[str]:
    """Every version a catalog row names (of any source): the parse cache keeps them."""
    with transaction() as connection, connection.cursor("versions_in_use") as cursor:
        cursor.itersize = 10_000
        cursor.execute(render("source/versions_in_use.sql"))
        return {sha for (sha,) in cursor}


def _forget_unused(shas: set[str]) -> None:
    if shas:
        with transaction() as connection, connection.cursor() as cursor:
            cursor.execute(render("source/forget_unused.sql"), {"shas": sorted(shas)})


def forget_file(spec: str, path: str) -> None:
    """Drop one file's catalog row: the next sync indexes it again."""
    forget_memo()
    with transaction() as connection, connection.cursor() as cursor:
        cursor.execute(render("source/forget_file.sql"), {"source": spec, "path": path})


def forget_memo() -> None:
    """Forget this process's last sync (tests rewrite sources faster than stat can tell)."""
    _last.clear()
    _finished.clear()
