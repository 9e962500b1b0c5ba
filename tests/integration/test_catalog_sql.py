"""The catalog answered in PostgreSQL (DESIGN 3.1): a sync compares its listing with the catalog
there, and a run holds only small answers, however long the feed's history. Real files on disk,
a real PostgreSQL."""

from __future__ import annotations

import gc
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from source_rows import tx

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline
from playstudio_luigi.intervals import Interval
from playstudio_luigi.source import catalog
from playstudio_luigi.source.catalog import CatalogFile, SheetSummary
from playstudio_luigi.source.feed import ExportFile
from playstudio_luigi.source.schema import PURCHASES, SPINS
from playstudio_luigi.source.versions import SourceChangedError
from playstudio_luigi.testing import run, write_workbook

pytestmark = pytest.mark.integration

T = datetime(2022, 4, 1)
FIVE = timedelta(minutes=5)
#: An export written this long after the end of its interval covers it (lateness is 5 min).
AFTER = timedelta(minutes=6)
HEADER = "date,userId,revenue,transaction_id\n"


def purchases_file(folder: Path, i: int, *, rows: int = 1) -> Path:
    """The ``i``-th 5-minute export: ``rows`` purchases in its interval, written as it closes."""
    start = T + i * FIVE
    path = folder / f"{start:%Y-%m-%d}" / f"purchases-{start:%H%M}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{start + timedelta(seconds=n):%Y-%m-%d %H:%M:%S},U{i % 97},PriceInUSD=0.99,"
        f"{uuid.UUID(int=i * 1000 + n)}\n"
        for n in range(rows)
    ]
    path.write_text(HEADER + "".join(lines))
    stamp = (start + AFTER).replace(tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def held(kind: type) -> int:
    """How many instances of ``kind`` this process holds."""
    gc.collect()
    return sum(isinstance(thing, kind) for thing in gc.get_objects())


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "exports"
    where.mkdir()
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(where))
    catalog.forget_memo()
    return where


def test_a_run_holds_small_answers_not_the_catalog_of_thousands_of_files(
    db, folder: Path, monkeypatch: pytest.MonkeyPatch
):
    files = 2_000
    for i in range(files):
        purchases_file(folder, i)
    first = catalog.sync()
    assert first.file_count == files
    catalog.forget_memo()
    del first

    # One more file arrives: the next sync indexes it alone, found by a join in PostgreSQL.
    indexed: list[str] = []
    index = catalog._index
    monkeypatch.setattr(
        catalog, "_index", lambda listed, *args: indexed.append(listed.path) or index(listed, *args)
    )
    newest = purchases_file(folder, files)
    before = {kind: held(kind) for kind in (CatalogFile, SheetSummary, ExportFile)}
    found = catalog.sync()
    assert indexed == [str(newest)]
    # What the run holds: no object per file of the history (the snapshot is two arrays)
    assert all(held(kind) - count <= 2 for kind, count in before.items())
    assert found.file_count == files + 1 and len(found.snapshot.versions) == files + 1
    assert found.newest == {PURCHASES.kind: (str(newest), found.newest[PURCHASES.kind][1])}
    assert found.watermark(PURCHASES, "mtime").at == T + files * FIVE + AFTER
    # The run's interval: the one file holding it, from an indexed range query
    interval = Interval(T + files * FIVE, T + (files + 1) * FIVE)
    assert [v.path for v in found.versions_covering(PURCHASES, interval)] == [newest]
    fingerprints = found.fingerprints(PURCHASES, [interval.start, interval.start + FIVE])
    assert fingerprints[interval.start] != catalog.EMPTY_FINGERPRINT
    assert fingerprints[interval.start + FIVE] == catalog.EMPTY_FINGERPRINT
    # An interval deep in the history: its file, and only it
    old = Interval(T + 17 * FIVE, T + 18 * FIVE)
    assert [v.path.name for v in found.versions_covering(PURCHASES, old)] == ["purchases-0125.csv"]
    # the whole catalog is still there for tools that ask for it
    assert len(found.files) == files + 1
    assert found.event_bounds() == (T, T + files * FIVE)


def test_removed_files_drop_out_of_the_catalog_and_the_watermark(db, folder: Path):
    paths = [purchases_file(folder, i) for i in range(4)]
    found = catalog.sync()
    assert found.watermark(PURCHASES, "mtime").newest_file == str(paths[3])
    paths[3].unlink()
    paths[1].unlink()
    found = catalog.sync()
    assert found.file_count == 2
    assert found.watermark(PURCHASES, "mtime").newest_file == str(paths[2])
    assert found.versions_covering(PURCHASES, Interval(T + FIVE, T + 2 * FIVE)) == []
    assert [v.path for v in found.versions_covering(PURCHASES, Interval(T, T + 4 * FIVE))] == [
        paths[0],
        paths[2],
    ]
    with db.cursor() as cursor:
        cursor.execute("select path from ops.source_files order by path")
        assert [Path(p) for (p,) in cursor.fetchall()] == [paths[0], paths[2]]
        # their versions' sheets and slices go too (the two removed held their own rows)
        cursor.execute("select count(*) from ops.source_sheets")
        assert cursor.fetchone() == (2,)


def test_unreadable_files_are_the_few_problems_a_sync_reads(db, folder: Path, caplog):
    for i in range(3):
        purchases_file(folder, i)
    broken = folder / "1999" / "purchases-broken.csv"
    broken.parent.mkdir()
    broken.write_text("not,an,export\n1,2,3\n")
    broken_at = T + FIVE + AFTER - timedelta(minutes=2)
    stamp = broken_at.replace(tzinfo=UTC).timestamp()
    os.utime(broken, (stamp, stamp))
    with caplog.at_level("WARNING", logger="luigi-interface"):
        found = catalog.sync()
    assert [problem.file.path for problem in found.problems] == [str(broken)]
    assert any(f"source export not read: {broken}" in m for m in caplog.messages)
    watermark = found.watermark(PURCHASES, "mtime")
    assert (watermark.at, watermark.held_by) == (broken_at, str(broken))
    # fixed: nothing holds the watermark back any more
    broken.unlink()
    assert catalog.sync().watermark(PURCHASES, "mtime").held_by is None


def test_a_file_reindexed_after_this_runs_sync_is_not_read_as_this_runs(db, folder: Path):
    path = purchases_file(folder, 0)
    mine = catalog.sync()
    interval = Interval(T, T + FIVE)
    before = mine.fingerprints(PURCHASES, [T])
    purchases_file(folder, 0, rows=2)  # rewritten, and indexed by another run
    catalog.forget_memo()
    theirs = catalog.sync()
    assert theirs.fingerprints(PURCHASES, [T]) != before
    # this run's catalog neither reads the new version as its own nor counts it
    with pytest.raises(SourceChangedError, match=f"{path}: the export changed"):
        mine.versions_covering(PURCHASES, interval)
    assert mine.fingerprints(PURCHASES, [T]) == {T: catalog.EMPTY_FINGERPRINT}


H22 = datetime(2022, 4, 1, 22)


def indexed_sheets(db) -> list[str]:
    with db.cursor() as cursor:
        cursor.execute("select sheet from ops.source_sheets order by sheet")
        return [sheet for (sheet,) in cursor.fetchall()]


def test_a_single_workbook_has_each_sheet_indexed_by_the_first_run_needing_it(db, source: Path):
    purchases = [(H22 + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1))]
    write_workbook(source, purchases, [(H22, "U1", "US", 5)])
    written_at = H22 + timedelta(hours=1) + AFTER
    stamp = written_at.replace(tzinfo=UTC).timestamp()
    os.utime(source, (stamp, stamp))
    catalog.forget_memo()
    found = catalog.sync()
    assert indexed_sheets(db) == []  # hashed only
    assert found.watermark(SPINS, "mtime").at == written_at

    assert run([FiveMinutePipeline(interval=H22)])
    assert indexed_sheets(db) == ["Purchases"]  # the 5-minute run parsed Purchases alone
    assert run([HourlyPipeline(hour=H22)])
    assert indexed_sheets(db) == ["Purchases", "Spins Hourly"]


def test_a_single_workbooks_missing_sheet_is_its_error_when_needed_not_a_wait(db, source: Path):
    purchases = [(H22 + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1))]
    write_workbook(source, purchases, sheets=("Purchases", ""))
    stamp = (H22 + timedelta(hours=1) + AFTER).replace(tzinfo=UTC).timestamp()
    os.utime(source, (stamp, stamp))
    catalog.forget_memo()
    assert run([FiveMinutePipeline(interval=H22)])  # Purchases alone is read
    found = catalog.sync()
    assert found.errors() == []  # Spins not asked for yet
    only = found.only_file(SPINS)
    assert only is not None and "Spins Hourly" in (only.sheets[SPINS.kind].error or "")
    assert [reason for _, reason in found.unreadable(SPINS)] == [only.sheets[SPINS.kind].error]
    assert found.covers(SPINS, Interval(H22, H22 + timedelta(hours=1)), timedelta(minutes=5))
    assert not run([HourlyPipeline(hour=H22)])  # fails with the sheet's error, not a wait
    assert indexed_sheets(db) == ["Purchases", "Spins Hourly"]
