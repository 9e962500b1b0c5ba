"""A damaged parse cache, an equal-size copy in place, a half-written export: through the CLI.

A damaged cache must change nothing: the run ends equal, table by table (``tests/faults.py``),
to the same commands with an intact cache. The changed exports end equal to a clean run of the
final export; the source hash column aside, because a reconcile keeps the rows (and the hash)
of the intervals whose slice did not change.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from faults import (
    clean_run,
    cli,
    cli_env,
    connected,
    differences,
    run_cli,
    scratch_database,
    snapshot,
    without_hashes,
)
from workbook_edits import (
    H0,
    H1,
    cache_damages,
    overwrite_in_place,
    sidecar_holding,
    temporaries,
    two_versions,
)

from playstudio_luigi.source.versions import file_sha256

pytestmark = pytest.mark.integration

STOP = H1 + timedelta(hours=1)
FIRST_HOUR = ["--start", f"{H0:%Y-%m-%dT%H}", "--stop", f"{H1:%Y-%m-%dT%H}"]
BOTH_HOURS = ["--start", f"{H0:%Y-%m-%dT%H}", "--stop", f"{STOP:%Y-%m-%dT%H}"]


def replace(source: Path, by: Path) -> None:
    """A re-export: the new file renamed over the old one."""
    shutil.copyfile(by, source.with_suffix(".new"))
    source.with_suffix(".new").replace(source)


def ok(args: list[str], env: dict[str, str]) -> str:
    outcome = run_cli(cli(*args), env)
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    return outcome.stderr


def _dbname(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path]:
    return two_versions(tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="module")
def clean(exports, pg_admin_url, tmp_path_factory) -> dict:
    """The warehouse after one clean backfill of both hours of the corrected export."""
    rows, _ = clean_run(
        pg_admin_url, exports[1], ["backfill", *BOTH_HOURS], tmp_path_factory.mktemp("clean")
    )
    return rows


@pytest.fixture(scope="module")
def loaded(exports, pg_admin_url, tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """(template database, home, source path): the first hour loaded from the old export,
    then the export corrected and reconciled, so that the cache holds both versions."""
    old, new = exports
    where = tmp_path_factory.mktemp("loaded")
    source = shutil.copyfile(old, where / "export.xlsx")
    with scratch_database(pg_admin_url) as dsn:
        env = cli_env(dsn=dsn, home=where / "home", source=source)
        ok(["backfill", *FIRST_HOUR], env)
        replace(source, new)
        ok(["reconcile", *FIRST_HOUR], env)
        yield _dbname(dsn), where / "home", source


@contextmanager
def _copy(loaded: tuple[str, Path, Path], admin_url: str, where: Path):
    """(CLI environment, cache root) of a copy of :func:`loaded`'s database and home."""
    template, home, source = loaded
    with scratch_database(admin_url) as dsn:
        connection = psycopg2.connect(admin_url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'drop database "{_dbname(dsn)}"')
            cursor.execute(f'create database "{_dbname(dsn)}" template "{template}"')
        connection.close()
        home = shutil.copytree(home, where / "home")
        yield cli_env(dsn=dsn, home=home, source=source), home / "cache" / "sources"


@pytest.fixture
def copy_of(loaded, pg_admin_url, tmp_path) -> Iterator[tuple[dict[str, str], Path]]:
    with _copy(loaded, pg_admin_url, tmp_path) as copy:
        yield copy


@pytest.fixture(scope="module")
def undamaged(loaded, clean, pg_admin_url, tmp_path_factory) -> dict:
    """The warehouse after the backfill of both hours that follows :func:`loaded`, with an
    intact cache; the same as a clean run of the corrected export but for the source hash of
    the intervals the reconcile found unchanged (it keeps their rows, by design)."""
    with _copy(loaded, pg_admin_url, tmp_path_factory.mktemp("undamaged")) as (env, _):
        ok(["backfill", *BOTH_HOURS], env)
        with connected(env["PLAYSTUDIO_DSN"]) as connection:
            rows = snapshot(connection)
    assert differences(without_hashes(rows), without_hashes(clean)) == {}
    return rows


def _damages(exports: tuple[Path, Path], root: Path) -> dict[str, Callable[[], Path]]:
    """Each damage to the corrected version's cache: a function doing it, returning the file
    damaged."""
    old, new = (root / file_sha256(export) for export in exports)
    out: dict[str, Callable[[], Path]] = {}
    for name in cache_damages(Path(), "purchases"):

        def damage(name: str = name) -> Path:
            cache_damages(old / "purchases.arrow", "purchases")[name](new / "purchases.arrow")
            return new / "purchases.arrow"

        out[name] = damage

    def wrong_sidecar() -> Path:
        # (still damaged from before when no run since needed the file's version)
        damaged = [p for p in (root / "hashes").iterdir() if p.read_text() == old.name]
        sidecar = damaged[0] if damaged else sidecar_holding(root, new.name)
        sidecar.write_text(old.name)
        return sidecar

    out["wrong sidecar"] = wrong_sidecar
    return out


def _markers(env: dict[str, str]) -> list[tuple]:
    with connected(env["PLAYSTUDIO_DSN"]) as connection, connection.cursor() as cursor:
        cursor.execute("select task_family, interval_start, completed_at from ops.task_markers")
        return sorted(cursor.fetchall())


DAMAGES = [*cache_damages(Path(), "purchases"), "wrong sidecar"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_cache_ends_equal_to_an_undamaged_run(exports, undamaged, copy_of, damage):
    env, root = copy_of
    damaged = _damages(exports, root)[damage]()
    # A reconcile must find nothing to correct, and rebuild nothing: the first hour is right.
    # It compares the catalog's fingerprints and reads no file of an unchanged interval, so
    # the damaged cache is not even opened.
    before = _markers(env)
    stderr = ok(["reconcile", *FIRST_HOUR], env)
    assert _markers(env) == before
    assert f"{damaged} " not in stderr
    # Damaged again, then a backfill that extracts the second hour through it.
    _damages(exports, root)[damage]()
    stderr = ok(["backfill", *BOTH_HOURS], env)
    assert f"{damaged} " in stderr
    assert temporaries(root) == []
    with connected(env["PLAYSTUDIO_DSN"]) as connection:
        assert differences(snapshot(connection), undamaged) == {}


def test_an_equal_size_copy_in_place_is_found_by_the_next_reconcile(
    exports, clean, pg_admin_url, tmp_path
):
    old, new = exports
    source = shutil.copyfile(old, tmp_path / "export.xlsx")
    with scratch_database(pg_admin_url) as dsn:
        env = cli_env(dsn=dsn, home=tmp_path / "home", source=source)
        ok(["backfill", *BOTH_HOURS], env)
        inode, size, mtime = (source.stat().st_ino, source.stat().st_size, source.stat().st_mtime)
        overwrite_in_place(source, new.read_bytes())  # cp into the file, then touch -d
        assert (source.stat().st_ino, source.stat().st_size, source.stat().st_mtime) == (
            inode,
            size,
            mtime,
        )
        ok(["reconcile", *BOTH_HOURS], env)
        with connected(dsn) as connection:
            rows = snapshot(connection)
        assert differences(without_hashes(rows), without_hashes(clean)) == {}


def test_a_half_written_export_loads_nothing_and_the_next_run_recovers(
    exports, clean, pg_admin_url, tmp_path
):
    old, new = exports
    source = shutil.copyfile(old, tmp_path / "export.xlsx")
    with scratch_database(pg_admin_url) as dsn:
        env = cli_env(dsn=dsn, home=tmp_path / "home", source=source)
        ok(["backfill", *FIRST_HOUR], env)
        # Rewritten in place without truncation, stopped before the spins sheet: the file's
        # spins sheet and zip directory are still the old export's, intact.
        with zipfile.ZipFile(old) as archive:
            cut = archive.getinfo("xl/worksheets/sheet2.xml").header_offset
        overwrite_in_place(source, new.read_bytes()[:cut], truncate=False)
        half_written = hashlib.sha256(source.read_bytes()).hexdigest()
        outcome = run_cli(cli("backfill", *BOTH_HOURS), env)
        assert outcome.returncode != 0
        # The first part that differs: the sheet, or the document properties (the time written).
        assert re.search(
            r"Bad CRC-32 for file '(docProps/core|xl/worksheets/sheet1)\.xml'", outcome.stderr
        )
        with connected(dsn) as connection, connection.cursor() as cursor:
            for table in ("bronze.bronze_purchases", "bronze.bronze_spins_hourly"):
                cursor.execute(
                    f"select count(*) from {table} where source_sha256 = %s", (half_written,)
                )
                assert cursor.fetchone() == (0,), table
            cursor.execute(
                "select task_family from ops.task_markers where source_sha256 = %s",
                (half_written,),
            )
            assert cursor.fetchall() == []
        overwrite_in_place(source, new.read_bytes())  # the writer finishes
        ok(["reconcile", *FIRST_HOUR], env)
        ok(["backfill", *BOTH_HOURS], env)
        with connected(dsn) as connection:
            rows = snapshot(connection)
        assert differences(without_hashes(rows), without_hashes(clean)) == {}
