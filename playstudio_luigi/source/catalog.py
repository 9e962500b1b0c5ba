"""The catalog of source files, in PostgreSQL: each export file version indexed once.

DESIGN section 3.1. The source is one workbook, a folder or a glob of export files
(:mod:`playstudio_luigi.source.feed`). A run *syncs* the catalog before it reads anything:

1. it lists the source (one ``stat`` per file, no content read);
2. files whose stat (size, mtime, ctime, inode) matches their row in ``ops.source_files`` are
   known: their content hash, sheets and event-time ranges come from the catalog;
3. new or changed files are hashed and parsed (once per machine: the local parse cache of
   :mod:`playstudio_luigi.source.versions`), and recorded with, per sheet, the row counts, the
   event-time range and one fingerprint per interval holding rows (``ops.source_slices``);
4. files no longer listed are removed from the catalog.

Every machine sees the same catalog, so a file is hashed and summarised once per content, and
parsed once per machine that reads it. A run then reads only the files whose event-time range
overlaps its intervals, whatever the length of the feed's history.

Nothing in the catalog is trusted for the rows themselves: a file a run reads is checked to be
the version the catalog names (its hash, through the per-machine sidecar that also compares the
zip listing, and again on the bytes parsed), and a mismatch is an error that re-indexes it.

A file that cannot be read (garbage, a missing column, caught half-written) is recorded with
its error, named in a warning by every run that lists it, and read by none. It holds each
sheet's watermark back to its own mtime: it may hold any sheet's rows up to then, so nothing
after it is taken as covered until it is readable (fixed, rewritten, or removed).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2.extras import execute_values

from playstudio_luigi import config, intervals
from playstudio_luigi.alerts.stale import SheetHealth, report_source_health
from playstudio_luigi.db.connection import database_url, reader, transaction
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


@dataclass
class Catalog:
    """The source's files after a sync: what a run reads, and how far the source covers."""

    source: str
    files: list[CatalogFile]
    #: The source is a single file: what it lacks is an error of that file, not a wait.
    single_file: bool
    synced_at: datetime
    cache_root: Path
    _exported: dict[str, Watermark] = field(default_factory=dict, repr=False)

    def holding(self, layout: SheetLayout) -> list[CatalogFile]:
        """The readable files holding ``layout``'s sheet."""
        return [
            f
            for f in self.files
            if f.error is None
            and f.sha256 is not None
            and layout.kind in f.sheets
            and f.sheets[layout.kind].error is None
        ]

    def unreadable(self, layout: SheetLayout) -> list[tuple[CatalogFile, str]]:
        """The files that may hold ``layout``'s sheet but cannot be read, with the reason."""
        found = []
        for f in self.files:
            if f.error is not None:
                found.append((f, f.error))
            elif layout.kind in f.sheets and f.sheets[layout.kind].error is not None:
                found.append((f, f.sheets[layout.kind].error))
        return found

    def errors(self) -> list[str]:
        """Every reason a listed file (or a sheet of one) cannot be read."""
        return catalog_errors(self.files)

    def watermark(self, layout: SheetLayout, mode: str | None = None) -> Watermark:
        """The watermark of ``layout``'s sheet (``mode`` ``none``: the clock, i.e. now)."""
        now = self.synced_at
        if (mode or config.watermark_mode()) == "none":
            return Watermark(layout.name, now, None)
        if layout.kind not in self._exported:  # once per sheet: runs ask for every interval
            self._exported[layout.kind] = self._newest_export(layout)
        found = self._exported[layout.kind]
        at = None if found.at is None else min(found.at, now)
        return Watermark(found.sheet, at, found.newest_file, found.held_by)

    def _newest_export(self, layout: SheetLayout) -> Watermark:
        """The watermark before it is capped at now."""
        if self.single_file and self.files:
            # One workbook: its mtime, readable or not; what it lacks is the extract's error
            only = self.files[0]
            return Watermark(layout.name, only.listed.modified_at, only.path)
        newest = max(self.holding(layout), key=lambda f: f.listed.mtime_ns, default=None)
        at = None if newest is None else newest.listed.modified_at
        blocking = min(
            (f for f, _ in self.unreadable(layout)), key=lambda f: f.listed.mtime_ns, default=None
        )
        held_by = None
        if blocking is not None and at is not None and blocking.listed.modified_at < at:
            at, held_by = blocking.listed.modified_at, blocking.path
        return Watermark(layout.name, at, None if newest is None else newest.path, held_by)

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
        return [
            self._version(f)
            for f in self.holding(layout)
            if f.sheets[layout.kind].overlaps(interval)
        ]

    def versions_with_undated(self, layout: SheetLayout) -> list[tuple[SourceVersion, int]]:
        """The file versions holding rows of ``layout`` without a readable date, with how
        many each holds."""
        return [
            (self._version(f), f.sheets[layout.kind].undated_rows)
            for f in self.holding(layout)
            if f.sheets[layout.kind].undated_rows
        ]

    def _version(self, entry: CatalogFile) -> SourceVersion:
        assert entry.sha256 is not None
        return SourceVersion(Path(entry.path), entry.sha256, self.cache_root / entry.sha256)

    def fingerprints(self, layout: SheetLayout, starts: Sequence[datetime]) -> dict[datetime, str]:
        """Each interval's fingerprint: which files hold rows of it, and what rows."""
        known = {(f.path, f.sha256) for f in self.holding(layout)}
        cursor = reader().cursor()
        cursor.execute(
            render("source/interval_slices.sql"),
            {"source": self.source, "sheet": layout.name, "starts": list(starts)},
        )
        parts: dict[datetime, list[tuple[str, str]]] = {start: [] for start in starts}
        for interval_start, path, sha, fingerprint, _ in cursor.fetchall():
            if (path, sha) in known:  # not a file indexed by another run after this sync
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


def _index(listed: ExportFile, cache_root: Path, single_file: bool) -> _Indexed:
    """Hash and parse one new or changed export file; its error instead if it cannot be read
    (as a whole, or one sheet of it). A source that is one workbook must hold both sheets:
    each is read, and what one lacks is that sheet's error, not the other's."""
    path = Path(listed.path)
    try:
        version = current_version(path, cache_root)
        if single_file and path.suffix.lower() == ".xlsx":
            kinds = list(LAYOUTS.values())
        else:
            kinds = [LAYOUTS[kind] for kind in sheet_kinds(path)]
        sheets, slices = {}, []
        for layout in kinds:
            try:
                table = version.sheet(layout.kind)
            except SourceChangedError:
                raise
            except SourceFormatError as exc:
                sheets[layout.kind] = SheetSummary(0, 0, None, None, str(exc))
                continue
            times = table["event_time"]
            dated = pc.drop_null(times)
            sheets[layout.kind] = SheetSummary(
                table.num_rows,
                table.num_rows - len(dated),
                pc.min(dated).as_py() if len(dated) else None,
                pc.max(dated).as_py() if len(dated) else None,
            )
            for start, rows in interval_runs(table, layout.width):
                fingerprint = slice_fingerprint(rows)
                slices.append((layout.name, start, rows.num_rows, fingerprint))
    except SourceChangedError as exc:  # being written: the next run indexes it whole
        return _Indexed(listed, None, str(exc), {}, [])
    except SourceFormatError as exc:
        return _Indexed(listed, None, str(exc), {}, [])
    return _Indexed(listed, version.sha256, None, sheets, slices)


def source_spec() -> str:
    """The configured source as a catalog key: an absolute path, or the glob as given."""
    raw = str(config.source_path())
    return raw if is_glob(raw) else os.path.abspath(raw)


# One sync per listing per process: a listing identical to the last one (every file's stat)
# means the catalog built from it still holds; the listing itself is always fresh.
_last: dict[tuple[str, str], tuple[tuple, Catalog]] = {}
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
    key = tuple((f.path, f.identity) for f in listing)
    if memo is not None and memo[0] == key:
        memo[1].synced_at = listed_at
        _finished[memo_key] = time.monotonic()
        return memo[1]

    known = _read_catalog(spec)
    entries: list[CatalogFile] = []
    fresh: list[_Indexed] = []
    for listed in listing:
        entry = known.get(listed.path)
        if entry is not None and entry.listed.identity == listed.identity:
            entries.append(entry)
            continue
        indexed = _index(listed, cache_root, single_file)
        fresh.append(indexed)
        entries.append(CatalogFile(listed, indexed.sha256, indexed.error, indexed.sheets))
    listed_paths = {f.path for f in listing}
    removed = sorted(path for path in known if path not in listed_paths)
    if fresh or removed:
        _write(spec, fresh, removed, listed_wall)
        replaced = {known[f.listed.path].sha256 for f in fresh if f.listed.path in known}
        gone = {known[path].sha256 for path in removed}
        if unused := {sha for sha in replaced | gone if sha}:
            # a new file evicts nothing: the parse cache is walked only when versions go
            _forget_unused(unused)
            prune_cache(cache_root, {f.sha256 for f in entries if f.sha256})
    for reason in catalog_errors(entries):
        log.warning("source export not read: %s", reason)
    catalog = Catalog(spec, entries, single_file, listed_at, cache_root)
    _last[memo_key] = (key, catalog)
    _finished[memo_key] = time.monotonic()
    _report_health(catalog)
    return catalog


#: A process reports the source's health at most this often (a cron run: once).
HEALTH_EVERY_SECS = 60.0
_health_reported: dict[str, float] = {}


def _report_health(catalog: Catalog) -> None:
    """Record each sheet's watermark and send the stale/recovery alerts due (DESIGN 3.3, 7):
    any run that syncs does it, so cron needs no job of its own. Not for the bundled sample,
    a fixed demo workbook rather than a feed."""
    if catalog.source == str(BUNDLED_SAMPLE) or config.watermark_mode() == "none":
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


def catalog_errors(entries: Iterable[CatalogFile]) -> list[str]:
    reasons = [f.error for f in entries if f.error is not None]
    reasons += [s.error for f in entries for s in f.sheets.values() if s.error]
    return list(dict.fromkeys(reasons))


def _read_catalog(spec: str) -> dict[str, CatalogFile]:
    cursor = reader().cursor()
    cursor.execute(render("source/catalog_files.sql"), {"source": spec})
    files = cursor.fetchall()
    shas = sorted({row[6] for row in files if row[6]})
    sheets: dict[str, dict[str, SheetSummary]] = {}
    if shas:
        cursor.execute(render("source/catalog_sheets.sql"), {"shas": shas})
        kind_of = {layout.name: layout.kind for layout in LAYOUTS.values()}
        for sha, sheet, *summary in cursor.fetchall():
            sheets.setdefault(sha, {})[kind_of[sheet]] = SheetSummary(*summary)
    catalog = {}
    for path, size, mtime_ns, ctime_ns, inode, _, sha, error in files:
        listed = ExportFile(path, size, mtime_ns, ctime_ns, inode)
        catalog[path] = CatalogFile(listed, sha, error, sheets.get(sha, {}) if sha else {})
    return catalog


def _write(spec: str, fresh: list[_Indexed], removed: list[str], listed_at: datetime) -> None:
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
        slice_rows = sorted({(f.sha256, *piece) for f in fresh if f.sha256 for piece in f.slices})
        if slice_rows:
            execute_values(
                cursor,
                "insert into ops.source_slices (sha256, sheet, interval_start, source_rows, "
                "fingerprint) values %s on conflict do nothing",
                slice_rows,
                page_size=1000,
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
        if removed:
            cursor.execute(
                render("source/remove_files.sql"),
                {"source": spec, "paths": removed, "listed_at": listed_at},
            )


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
