"""Listing a source and reading its watermark, without a server (DESIGN 3.1, 3.3)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from playstudio_luigi.intervals import Interval
from playstudio_luigi.source.catalog import (
    EMPTY_FINGERPRINT,
    Catalog,
    CatalogFile,
    Problem,
    SheetSummary,
    Snapshot,
    combine_fingerprints,
)
from playstudio_luigi.source.feed import ExportFile, list_exports
from playstudio_luigi.source.reader import SourceFormatError
from playstudio_luigi.source.schema import PURCHASES, SPINS

T = datetime(2022, 4, 1, 22)
LATENESS = timedelta(minutes=5)


def touch(path: Path, written_at: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if written_at is not None:
        stamp = written_at.replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
    return path


def test_a_folder_lists_every_export_below_it_and_nothing_else(tmp_path: Path):
    wanted = [
        touch(tmp_path / "2022-04-01" / "purchases-2200.csv"),
        touch(tmp_path / "2022-04-01" / "spins-22.XLSX"),
        touch(tmp_path / "deep" / "er" / "p.parquet"),
    ]
    touch(tmp_path / ".hidden.csv")
    touch(tmp_path / ".tmp" / "half-written.csv")  # a hidden folder: a writer's staging area
    touch(tmp_path / "~$spins-22.xlsx")  # Excel's lock file
    touch(tmp_path / "p.csv.tmp")
    touch(tmp_path / "notes.txt")
    listed = list_exports(tmp_path)
    assert [f.path for f in listed] == sorted(str(p) for p in wanted)
    assert all(f.size == 1 for f in listed)


def test_a_glob_lists_what_it_matches(tmp_path: Path):
    touch(tmp_path / "a" / "p-1.csv")
    touch(tmp_path / "a" / "b" / "p-2.csv")
    touch(tmp_path / "a" / "b" / "p-2.xlsx")
    listed = list_exports(f"{tmp_path}/**/*.csv")
    assert sorted(Path(f.path).name for f in listed) == ["p-1.csv", "p-2.csv"]
    assert list_exports(f"{tmp_path}/nothing/*.csv") == []  # an empty feed: every interval waits


def test_a_missing_source_or_an_unsupported_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SourceFormatError, match=r"gone\.xlsx: source cannot be read"):
        list_exports(tmp_path / "gone.xlsx")
    with pytest.raises(SourceFormatError, match=r"notes\.txt: not a supported export file"):
        list_exports(touch(tmp_path / "notes.txt"))


def test_the_export_time_is_the_files_mtime_in_utc(tmp_path: Path):
    (listed,) = list_exports(touch(tmp_path / "p.csv", T + timedelta(seconds=30)))
    assert listed.modified_at == T + timedelta(seconds=30)


def entry(name: str, written_at: datetime, *sheets, error: str | None = None) -> CatalogFile:
    stamp = int(written_at.replace(tzinfo=UTC).timestamp() * 1e9)
    summaries = {
        layout.kind: SheetSummary(1, 0, T, T + timedelta(minutes=1), sheet_error)
        for layout, sheet_error in sheets
    }
    return CatalogFile(
        ExportFile(f"/feed/{name}", 1, stamp, stamp, 1),
        None if error else "0" * 64,
        error,
        summaries,
    )


def catalog(*files: CatalogFile, now: datetime = T + timedelta(days=1)) -> Catalog:
    """A catalog with the answers a sync reads in SQL (listing_newest.sql and
    listing_problems.sql, tested against PostgreSQL in tests/integration/test_catalog_sql.py)
    given directly: the watermark's rules on them."""
    newest: dict[str, tuple[str, int]] = {}
    problems = [Problem(f, f.error) for f in files if f.error]
    for f in files:
        for kind, summary in f.sheets.items():
            if summary.error:
                problems.append(Problem(f, summary.error, kind))
            elif f.error is None and f.listed.mtime_ns > newest.get(kind, ("", -1))[1]:
                newest[kind] = (f.path, f.listed.mtime_ns)
    return Catalog(
        "/feed",
        single_file=False,
        synced_at=now,
        cache_root=Path("/x"),
        snapshot=Snapshot.of([], []),
        file_count=len(files),
        newest=newest,
        problems=problems,
    )


def test_the_watermark_is_the_newest_readable_export_of_the_sheet_capped_at_now():
    found = catalog(
        entry("p-1.csv", T + timedelta(minutes=6), (PURCHASES, None)),
        entry("p-2.csv", T + timedelta(minutes=11), (PURCHASES, None)),
        entry("s-1.csv", T + timedelta(hours=1), (SPINS, None)),
    )
    assert found.watermark(PURCHASES, "mtime").at == T + timedelta(minutes=11)
    assert found.watermark(PURCHASES, "mtime").newest_file == "/feed/p-2.csv"
    assert found.covers(PURCHASES, Interval(T, T + timedelta(minutes=5)), LATENESS)
    assert not found.covers(
        PURCHASES, Interval(T + timedelta(minutes=5), T + timedelta(minutes=10)), LATENESS
    )
    # the other sheet has a watermark of its own
    assert found.watermark(SPINS, "mtime").at == T + timedelta(hours=1)
    # never later than now: a file stamped in the future covers nothing after now
    early = catalog(entry("p.csv", T + timedelta(days=9), (PURCHASES, None)), now=T)
    assert early.watermark(PURCHASES, "mtime").at == T
    # no export of the sheet yet: nothing is covered
    assert catalog().watermark(PURCHASES, "mtime").at is None
    assert not catalog().covers(PURCHASES, Interval(T, T + timedelta(minutes=5)), LATENESS)


def test_an_unreadable_export_holds_the_watermark_back_to_its_own_mtime():
    broken = entry("p-2.csv", T + timedelta(minutes=8), error="/feed/p-2.csv: garbage")
    found = catalog(
        entry("p-1.csv", T + timedelta(minutes=6), (PURCHASES, None)),
        broken,
        entry("p-3.csv", T + timedelta(minutes=16), (PURCHASES, None)),
    )
    watermark = found.watermark(PURCHASES, "mtime")
    assert (watermark.at, watermark.held_by) == (T + timedelta(minutes=8), "/feed/p-2.csv")
    assert "held back by /feed/p-2.csv, which cannot be read" in watermark.describe()
    # one sheet of a file unreadable (a missing column): it holds back that sheet only
    bad_sheet = entry("s-1.xlsx", T + timedelta(minutes=7), (SPINS, "no column 'country'"))
    found = catalog(entry("s-0.xlsx", T + timedelta(hours=1), (SPINS, None)), bad_sheet)
    assert found.watermark(SPINS, "mtime").held_by == "/feed/s-1.xlsx"
    # a newer file being written does not hold back what older exports cover
    writing = entry("p-9.csv", T + timedelta(minutes=30), error="being written")
    found = catalog(entry("p-1.csv", T + timedelta(minutes=16), (PURCHASES, None)), writing)
    assert found.watermark(PURCHASES, "mtime").at == T + timedelta(minutes=16)


def test_without_watermark_now_is_the_watermark():
    now = T + timedelta(minutes=3)
    assert catalog(now=now).watermark(PURCHASES, "none").at == now


def test_an_intervals_fingerprint_changes_with_any_file_holding_rows_of_it():
    base = combine_fingerprints([("/feed/a.csv", "1" * 64), ("/feed/b.csv", "2" * 64)])
    assert base == combine_fingerprints([("/feed/b.csv", "2" * 64), ("/feed/a.csv", "1" * 64)])
    assert base != combine_fingerprints([("/feed/a.csv", "1" * 64)])  # a file removed
    assert base != combine_fingerprints([("/feed/a.csv", "1" * 64), ("/feed/c.csv", "2" * 64)])
    assert base != combine_fingerprints([("/feed/a.csv", "3" * 64), ("/feed/b.csv", "2" * 64)])
    assert combine_fingerprints([]) == EMPTY_FINGERPRINT
