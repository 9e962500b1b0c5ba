"""The parse cache is verified before use, and a version is the hash of the bytes parsed.

Loads run in a subprocess (``CHILD``) wherever damage could once crash the process: a crash
then fails the test instead of killing the test run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbook_edits import (
    NEW_REVENUE,
    cache_damages,
    export,
    overwrite_in_place,
    sidecar_holding,
    temporaries,
    two_versions,
)

from playstudio_luigi.source import parse_cache
from playstudio_luigi.source.reader import SourceFormatError, read_sheet
from playstudio_luigi.source.schema import PURCHASES, SPINS
from playstudio_luigi.source.versions import current_version, file_sha256

CHILD = """
import hashlib, logging, resource, signal, sys
from pathlib import Path
if len(sys.argv) > 3:  # a disk that is full beyond this many bytes per file
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
from playstudio_luigi.source import versions
for again in ("", "again "):  # the second time as another process would: from disk
    versions._load_sheet.cache_clear()
    version = versions.current_version(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{again}version", version.sha256)
    for kind in ("purchases", "spins"):
        digest = hashlib.sha256(repr(version.sheet(kind).to_pylist()).encode()).hexdigest()
        print(f"{again}{kind}", digest)
    print(AGAIN, file=sys.stderr, flush=True)
""".replace("AGAIN", repr("--- again"))


def load(source: Path, cache_root: Path, *, file_size_limit: int | None = None):
    """What a fresh process loads from ``source`` twice (the second time from what the first
    left on disk): ({"version": sha, kind: digest, "again version": ..., ...}, stderr of the
    first load, stderr of the second)."""
    limit = [] if file_size_limit is None else [str(file_size_limit)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(cache_root), *limit],
        cwd=cache_root.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"rc {done.returncode}: {done.stderr[-2000:]}"
    first, second, _ = done.stderr.split("--- again\n")
    return dict(line.rsplit(" ", 1) for line in done.stdout.splitlines()), first, second


@pytest.fixture(scope="module")
def loaded_versions(tmp_path_factory):
    """(old export, new export, a cache root holding both, what a clean load of new gives)."""
    where = tmp_path_factory.mktemp("versions")
    old, new = two_versions(where)
    clean, _, _ = load(new, where / "clean-cache")
    load(old, where / "cache")
    load(new, where / "cache")
    return old, new, where / "cache", clean


@pytest.fixture
def versions(loaded_versions, tmp_path):
    """:func:`loaded_versions`, with a cache root of this test's own."""
    old, new, root, clean = loaded_versions
    return old, new, shutil.copytree(root, tmp_path / "cache"), clean


@pytest.mark.parametrize("damage", [*cache_damages(Path(), "purchases"), "other sheet"])
@pytest.mark.parametrize("kind", ["purchases", "spins"])
def test_a_damaged_cache_file_costs_a_reparse_and_a_warning(versions, damage, kind):
    old, new, root, clean = versions
    target = root / file_sha256(new) / f"{kind}.arrow"
    if damage == "other sheet":
        other = "spins" if kind == "purchases" else "purchases"
        shutil.copyfile(root / file_sha256(new) / f"{other}.arrow", target)
    else:
        cache_damages(root / file_sha256(old) / f"{kind}.arrow", kind)[damage](target)
    loaded, stderr, again = load(new, root)
    assert loaded == clean
    assert f"parse cache {target} failed verification" in stderr
    assert "WARNING" not in again  # repaired
    assert temporaries(root) == []


def _listing_of(sidecar: Path) -> str:
    return sidecar.read_text().split(" ")[1]


@pytest.mark.parametrize(
    "damage", ["another version's hash", "swapped", "empty", "same stamp, other content"]
)
def test_a_wrong_hash_sidecar_costs_a_rehash_and_a_warning(versions, damage):
    old, new, root, clean = versions
    mine, theirs = sidecar_holding(root, file_sha256(new)), sidecar_holding(root, file_sha256(old))
    if damage == "another version's hash":
        mine.write_text(file_sha256(old))
    elif damage == "swapped":
        shutil.copyfile(theirs, mine)
    elif damage == "empty":
        mine.write_text("")
    else:  # what an in-place rewrite keeping every timestamp (coarse clock) would leave
        stamp = mine.read_text().split(" ", 2)[2]
        mine.write_text(f"{file_sha256(old)} {_listing_of(theirs)} {stamp}")
    loaded, stderr, again = load(new, root)
    assert loaded == clean
    assert f"hash sidecar {mine} does not match the workbook" in stderr
    assert "WARNING" not in again  # replaced


def test_a_full_disk_leaves_no_temporary_file_and_costs_only_the_cache(versions):
    _, new, root, clean = versions
    fresh = root.parent / "fresh-cache"
    loaded, stderr, _ = load(new, fresh, file_size_limit=2048)
    assert loaded == clean
    assert "cannot write parse cache" in stderr
    assert temporaries(fresh) == []
    loaded, stderr, _ = load(new, fresh)  # space again: the cache is written
    assert loaded == clean and "WARNING" not in stderr
    assert (fresh / file_sha256(new) / "purchases.arrow").exists()


def test_an_equal_size_copy_in_place_with_its_old_mtime_is_a_new_version(tmp_path):
    old, new = two_versions(tmp_path)
    source = shutil.copyfile(old, tmp_path / "export.xlsx")
    root = tmp_path / "cache"
    before = current_version(source, root)
    assert before.sha256 == file_sha256(old)
    before.sheet("purchases")
    stat = source.stat()
    overwrite_in_place(source, new.read_bytes())
    assert (source.stat().st_ino, source.stat().st_size, source.stat().st_mtime_ns) == (
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
    )
    after = current_version(source, root)
    assert after.sha256 == file_sha256(new)
    assert NEW_REVENUE in after.sheet("purchases")["revenue"].to_pylist()


@pytest.mark.parametrize("layout", [PURCHASES, SPINS], ids=lambda layout: layout.kind)
def test_a_workbook_rewritten_in_place_without_truncation_is_refused_whole(tmp_path, layout):
    old, new = two_versions(tmp_path)
    source = shutil.copyfile(old, tmp_path / "export.xlsx")
    # The writer stopped after the purchases sheet: the spins sheet and the zip directory are
    # still the old file's, intact.
    cut = next(i.header_offset for i in _infolist(old) if i.filename.endswith("sheet2.xml"))
    overwrite_in_place(source, new.read_bytes()[:cut], truncate=False)
    # The first part that differs is named: the sheet, or the document properties when the two
    # versions were written in different seconds (they hold the time written).
    damaged = (
        r"damaged workbook \(Bad CRC-32 for file '(docProps/core|xl/worksheets/sheet1)\.xml'\)"
    )
    with pytest.raises(SourceFormatError, match=damaged):
        read_sheet(source, layout)


def _infolist(path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()


def test_rows_are_filed_only_under_the_hash_of_the_bytes_parsed(tmp_path):
    old, new = two_versions(tmp_path)
    source = shutil.copyfile(old, tmp_path / "export.xlsx")
    version = current_version(source, tmp_path / "cache")
    overwrite_in_place(source, new.read_bytes())  # re-exported after the version was taken
    with pytest.raises(SourceFormatError, match="changed after its version"):
        version.sheet("spins")
    assert not (version.cache_dir / "spins.arrow").exists()


def test_threads_taking_the_version_of_a_new_file_do_not_collide(tmp_path):
    for attempt in range(50):
        source = export(tmp_path / f"export{attempt}.xlsx")
        barrier = threading.Barrier(8)
        results: list[object] = []

        def take(
            source: Path = source, barrier: threading.Barrier = barrier, results: list = results
        ) -> None:
            barrier.wait()
            try:
                results.append(current_version(source, tmp_path / "cache").sha256)
            except Exception as exc:  # the assertion below shows it
                results.append(exc)

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [file_sha256(source)] * 8
    assert temporaries(tmp_path / "cache") == []


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory) -> tuple[bytes, str, Path]:
    """(the bytes of a small cache file, its source hash, a scratch file to read them from)."""
    where = tmp_path_factory.mktemp("cache") / "purchases.arrow"
    table = pa.table({"source_row": pa.array(range(200), pa.int64())})
    table = table.append_column("revenue", pa.array([f"PriceInUSD={i}.99" for i in range(200)]))
    sha = hashlib.sha256(b"a version").hexdigest()
    parse_cache.write_table(where, table, kind="purchases", source_sha256=sha)
    return where.read_bytes(), sha, where.with_name("scratch")


def _read(data: bytes, sha: str, where: Path, schema: pa.Schema) -> pa.Table:
    where.write_bytes(data)
    return parse_cache.read_table(where, kind="purchases", source_sha256=sha, schema=schema)


SCHEMA = pa.schema([("source_row", pa.int64()), ("revenue", pa.string())])


def test_an_intact_cache_file_reads_back(cache_file):
    data, sha, scratch = cache_file
    assert _read(data, sha, scratch, SCHEMA).num_rows == 200
    with pytest.raises(parse_cache.CacheDamaged, match="not 'purchases' of"):
        _read(data, hashlib.sha256(b"another").hexdigest(), scratch, SCHEMA)
    with pytest.raises(parse_cache.CacheDamaged, match="schema"):
        _read(data, sha, scratch, pa.schema([("source_row", pa.int64())]))


@given(st.data())
def test_any_changed_byte_is_detected_before_arrow_reads_the_file(cache_file, data):
    content, sha, scratch = cache_file
    at = data.draw(st.integers(0, len(content) - 1))
    xor = data.draw(st.integers(1, 255))
    damaged = content[:at] + bytes([content[at] ^ xor]) + content[at + 1 :]
    with pytest.raises(parse_cache.CacheDamaged):
        _read(damaged, sha, scratch, SCHEMA)


@given(st.data())
def test_any_truncation_is_detected(cache_file, data):
    content, sha, scratch = cache_file
    length = data.draw(st.integers(0, len(content) - 1))
    with pytest.raises(parse_cache.CacheDamaged):
        _read(content[:length], sha, scratch, SCHEMA)


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "dir" / "file"
    with pytest.raises(OSError), parse_cache.atomic_file(target) as tmp:
        tmp.write_text("half")
        raise OSError(28, os.strerror(28))
    assert list((tmp_path / "dir").iterdir()) == []
