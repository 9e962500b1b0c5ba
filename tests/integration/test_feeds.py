"""A living feed: a folder of export files, indexed once each, loaded once the exports cover an
interval (DESIGN 3.1, 3.3). Real files on disk, a real PostgreSQL."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import luigi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from source_rows import tx

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline
from playstudio_luigi.db.connection import connect
from playstudio_luigi.operations.backfill import run_backfill
from playstudio_luigi.operations.reconcile import reconcile
from playstudio_luigi.source import catalog, versions
from playstudio_luigi.source.schema import PURCHASES as PURCHASES_SHEET
from playstudio_luigi.testing import GOLD_COLUMNS, reset_warehouse, run, table_rows, write_workbook

pytestmark = pytest.mark.integration

H22 = datetime(2022, 4, 1, 22)
H23 = H22 + timedelta(hours=1)
STOP = H22 + timedelta(hours=2)
#: An export written this long after the end of what it holds covers it (lateness is 5 min).
AFTER = timedelta(minutes=6)

PURCHASES = [
    (H22 + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1)),
    (H22 + timedelta(minutes=7), "U2", "PriceInUSD=1.99", tx(2)),
    (H22 + timedelta(minutes=7), "U2", "PriceInUSD=1.99", tx(2)),  # exact duplicate
    (H22 + timedelta(minutes=31), "U3", "PriceInUSD=0.99", tx(3)),
    (H23 + timedelta(minutes=3), "U1", "PriceInUSD=9.99", tx(4)),
    (H23 + timedelta(minutes=44), "U2", "PriceInUSD=2.49", tx(5)),
]
SPINS = [
    (H22, "U1", "US", 5),
    (H22, "U2", "CA", 3.5),
    (H23, "U1", "CA", 2),
    (H23, "U2", "CA", 1),
]
TABLES = {
    "bronze.bronze_purchases": ["interval_start", "transaction_id", "revenue", "user_id"],
    "bronze.bronze_spins_hourly": ["interval_start", "user_id", "country", "total_spins"],
    "silver.silver_purchases": ["transaction_id", "event_time", "user_id", "revenue"],
    "silver.silver_spins_hourly": ["app_hour", "user_id", "country", "total_spins"],
    "gold.aggregated_final_table": list(GOLD_COLUMNS),
}


def snapshot(db) -> dict[str, list[tuple]]:
    return {table: table_rows(db, table, columns) for table, columns in TABLES.items()}


def export(
    path: Path,
    purchases: Sequence[tuple] = (),
    spins: Sequence[tuple] = (),
    *,
    written_at: datetime,
) -> Path:
    """One export file holding only the sheets given, written at ``written_at`` (UTC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sheets = ("Purchases" if purchases else "", "Spins Hourly" if spins else "")
    write_workbook(path, purchases, spins, sheets=sheets)
    stamp = written_at.replace(tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def hourly_feed(folder: Path, purchases=PURCHASES, spins=SPINS) -> list[Path]:
    """The rows as a feed: purchases one file per half hour, spins one per hour, each written
    as its period ends (plus :data:`AFTER`)."""
    files = []
    for half in range(4):
        start = H22 + timedelta(minutes=30 * half)
        rows = [r for r in purchases if start <= r[0] < start + timedelta(minutes=30)]
        name = f"{start:%Y-%m-%d}/purchases-{start:%H%M}.xlsx"
        if rows:
            files.append(
                export(folder / name, rows, written_at=start + timedelta(minutes=30) + AFTER)
            )
    for hour in (H22, H23):
        rows = [r for r in spins if r[0] == hour]
        files.append(
            export(
                folder / f"{hour:%Y-%m-%d}/spins-{hour:%H}.xlsx",
                spins=rows,
                written_at=hour + timedelta(hours=1) + AFTER,
            )
        )
    return files


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "exports"
    where.mkdir()
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(where))
    return where


def marked(db, family: str) -> set[datetime]:
    """The interval starts ``family`` has markers for."""
    with db.cursor() as cursor:
        cursor.execute(
            "select interval_start from ops.task_markers where task_family = %s", (family,)
        )
        return {row[0] for row in cursor.fetchall()}


def gold_hours(db) -> set[datetime]:
    return marked(db, "GoldAggregate")


def test_a_folder_of_exports_loads_as_the_same_rows_in_one_workbook(
    db, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    files = hourly_feed(folder)
    assert run_backfill(H22, STOP)
    from_feed = snapshot(db)
    assert len(from_feed["gold.aggregated_final_table"]) == 5
    # provenance: every bronze row names the file it came from, at its row in that file
    provenance = table_rows(
        db, "bronze.bronze_purchases", ["transaction_id", "source_path", "source_row"]
    )
    where = {(str(f), row): f for f in files for row in range(2, 10)}
    assert all((path, row) in where for _, path, row in provenance)
    assert {(t, Path(p).name, r) for t, p, r in provenance} >= {
        (tx(1), "purchases-2200.xlsx", 2),
        (tx(2), "purchases-2200.xlsx", 3),
        (tx(2), "purchases-2200.xlsx", 4),
        (tx(4), "purchases-2300.xlsx", 2),
    }

    workbook = write_workbook(tmp_path / "one.xlsx", PURCHASES, SPINS)
    monkeypatch.setenv("PLAYSTUDIO_SOURCE", str(workbook))
    reset_warehouse(db)
    assert run_backfill(H22, STOP)
    assert snapshot(db) == from_feed


def test_an_export_covers_exactly_the_intervals_closed_by_its_write_time(db, folder: Path):
    # Only the first hour has been exported (spins of 22:00, purchases up to 22:59).
    first = [r for r in PURCHASES if r[0] < H23]
    export(folder / "p-22.xlsx", first, written_at=H23 + AFTER)
    export(folder / "s-22.xlsx", spins=[s for s in SPINS if s[0] == H22], written_at=H23 + AFTER)
    assert not run([HourlyPipeline(hour=H22), HourlyPipeline(hour=H23)])  # 23:00 waits
    assert gold_hours(db) == {H22}
    # nothing of 23:00 loaded, not even as an empty interval
    assert max(marked(db, "ExtractPurchases")) < H23

    # The 5-minute cron between exports: 22:55 is covered, 23:00 is not.
    assert run([FiveMinutePipeline(interval=H22 + timedelta(minutes=55))])
    assert not run([FiveMinutePipeline(interval=H23)])

    # The next export covers the rest.
    export(folder / "p-23.xlsx", [r for r in PURCHASES if r[0] >= H23], written_at=STOP + AFTER)
    export(folder / "s-23.xlsx", spins=[s for s in SPINS if s[0] == H23], written_at=STOP + AFTER)
    assert run([HourlyPipeline(hour=H23)])
    assert gold_hours(db) == {H22, H23}


def test_without_watermark_the_clock_decides(db, folder: Path):
    export(folder / "p-22.xlsx", PURCHASES[:2], written_at=H22 + timedelta(minutes=10))
    export(folder / "s-22.xlsx", spins=SPINS[:1], written_at=H22 + timedelta(minutes=10))
    assert not run([HourlyPipeline(hour=H22)])  # the exports do not cover the hour
    config = luigi.configuration.get_config()
    config.set("playstudio", "watermark", "none")
    try:
        assert run([HourlyPipeline(hour=H22)])  # the clock passed 2022 long ago
    finally:
        config.remove_option("playstudio", "watermark")
    assert gold_hours(db) == {H22}


def test_a_backfill_skips_and_counts_the_hours_that_wait(db, folder: Path, capsys):
    first = [r for r in PURCHASES if r[0] < H23]
    export(folder / "p-22.xlsx", first, written_at=H23 + AFTER)
    export(folder / "s-22.xlsx", spins=SPINS[:2], written_at=H23 + AFTER)
    assert run_backfill(H22, STOP)
    assert gold_hours(db) == {H22}
    err = capsys.readouterr().err
    assert "waiting for the export: 1 of 2 hour(s) not loaded, 2022-04-01T23" in err
    assert "newest export written at 2022-04-01 23:06:00 UTC" in err


def test_an_unreadable_file_is_named_and_holds_back_only_what_comes_after_it(
    db, folder: Path, caplog
):
    hourly_feed(folder)
    garbage = folder / "2022-04-01" / "purchases-2230-broken.xlsx"
    garbage.write_bytes(b"PK\x03\x04 this is not a workbook" * 50)
    stamp = (H23 + timedelta(minutes=20)).replace(tzinfo=UTC).timestamp()
    os.utime(garbage, (stamp, stamp))
    assert run_backfill(H22, STOP)
    found = catalog.sync()
    assert any(str(garbage) in reason for reason in found.errors())
    # the hour before the broken export loads; the hour after waits for it to be readable
    assert gold_hours(db) == {H22}
    assert found.watermark(PURCHASES_SHEET).held_by == str(garbage)
    assert str(garbage) in caplog.text

    # a file caught half-written (truncated) is another unreadable file, named the same way
    good = folder / "2022-04-01" / "purchases-2300.xlsx"
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    garbage.unlink()
    found = catalog.sync()
    assert any(str(good) in reason for reason in found.errors())
    # nothing of a half-written file is loaded; once complete, it is indexed and loads
    good.write_bytes(data)
    stamp = (H23 + timedelta(minutes=30) + AFTER).replace(tzinfo=UTC).timestamp()
    os.utime(good, (stamp, stamp))
    assert run_backfill(H22, STOP)
    assert gold_hours(db) == {H22, H23}


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file parse (not served from the parse cache) is appended: its file name."""
    parsed: list[str] = []
    real = versions.read_export
    monkeypatch.setattr(
        versions,
        "read_export",
        lambda path, layout, data: parsed.append(Path(path).name) or real(path, layout, data),
    )
    versions._load_sheet.cache_clear()
    return parsed


def test_a_run_parses_only_new_files_and_reads_only_those_of_its_intervals(
    db, folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    hourly_feed(folder)
    assert run_backfill(H22, H23)
    parsed = count_parses(monkeypatch)
    # a cold parse cache (another process, the same machine): the 23:00 hour reads only its
    # own files, although the folder holds the 22:00 ones too
    shutil.rmtree(Path(os.environ["PLAYSTUDIO_HOME"]) / "cache", ignore_errors=True)
    assert run([HourlyPipeline(hour=H23)])
    assert sorted(set(parsed)) == ["purchases-2300.xlsx", "purchases-2330.xlsx", "spins-23.xlsx"]

    # a new export arrives: the next run indexes it (one parse) and nothing else
    parsed.clear()
    late = [(H23 + timedelta(minutes=50), "U9", "PriceInUSD=3.00", tx(9))]
    export(folder / "2022-04-01" / "purchases-2350-late.xlsx", late, written_at=STOP + AFTER)
    catalog.sync()
    assert parsed == ["purchases-2350-late.xlsx"]


def test_reconcile_reruns_exactly_the_intervals_a_changed_file_covers(
    db, folder: Path, monkeypatch: pytest.MonkeyPatch
):
    files = hourly_feed(folder)
    assert run_backfill(H22, STOP)
    before = snapshot(db)
    parsed = count_parses(monkeypatch)
    # one export is corrected (tx 4's revenue), one removed (tx 3), one added (tx 9)
    corrected = [(H23 + timedelta(minutes=3), "U1", "PriceInUSD=8.99", tx(4))]
    export(folder / "2022-04-01/purchases-2300.xlsx", corrected, written_at=STOP + AFTER)
    next(f for f in files if f.name == "purchases-2230.xlsx").unlink()
    added = [(H22 + timedelta(minutes=12), "U4", "PriceInUSD=1.00", tx(9))]
    export(folder / "2022-04-01/purchases-2210-late.xlsx", added, written_at=STOP + AFTER)
    report = reconcile(H22, STOP)
    changed = sorted(c.interval_start for c in report.changes)
    assert changed == [
        H22 + timedelta(minutes=10),
        H22 + timedelta(minutes=30),
        H23,
    ]
    assert report.hours == [H22, H23] and report.rebuilt
    # only the new and changed files were parsed: the unchanged ones were not read again
    assert sorted(set(parsed)) == ["purchases-2210-late.xlsx", "purchases-2300.xlsx"]
    after = snapshot(db)
    assert after != before
    silver = {row[0]: row[3] for row in after["silver.silver_purchases"]}
    assert tx(3) not in silver and str(silver[tx(4)]) == "8.99" and tx(9) in silver

    clean_copy = {table: rows for table, rows in after.items()}
    reset_warehouse(db)
    assert run_backfill(H22, STOP)
    assert snapshot(db) == clean_copy


# Property: files arriving in any order, corrected and removed, runs in between ------------


FILES = [
    # (name, purchases) - tx 1 is in two files (the same purchase exported twice)
    ("a.xlsx", [PURCHASES[0], PURCHASES[1]]),
    ("b.xlsx", [PURCHASES[2], PURCHASES[3]]),
    ("c.xlsx", [PURCHASES[4], PURCHASES[0]]),
    ("d.xlsx", [PURCHASES[5]]),
]
SPIN_FILE = ("spins.xlsx", SPINS)


@pytest.fixture(scope="module")
def feed_setup(fresh_database, tmp_path_factory) -> Iterator[tuple[Any, Path]]:
    home = tmp_path_factory.mktemp("feedhome")
    where = tmp_path_factory.mktemp("feed")
    with fresh_database(home), pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYSTUDIO_SOURCE", str(where))
        connection = connect()
        connection.autocommit = True
        yield connection, where
        connection.close()


steps = st.lists(
    st.tuples(
        st.sampled_from(["arrive", "correct", "remove", "run-hour", "run-range", "reconcile"]),
        st.integers(min_value=0, max_value=len(FILES) - 1),
        st.integers(min_value=0, max_value=1),
    ),
    min_size=1,
    max_size=10,
)


def _write(where: Path, name: str, rows: Sequence[tuple], corrected: bool = False) -> None:
    if corrected:  # the backend re-exports the file with one revenue fixed
        rows = [(r[0], r[1], "PriceInUSD=7.77", r[3]) if i == 0 else r for i, r in enumerate(rows)]
    if name == SPIN_FILE[0]:
        export(where / name, spins=rows, written_at=STOP + AFTER)
    else:
        export(where / name, rows, written_at=STOP + AFTER)


@settings(settings.get_profile("warehouse"))
@given(plan=steps, seed=st.integers(0, 1000))
def test_files_in_any_order_with_corrections_and_removals_end_as_one_clean_run(
    feed_setup, plan, seed
):
    connection, where = feed_setup
    shutil.rmtree(where)
    where.mkdir()
    reset_warehouse(connection)
    _write(where, *SPIN_FILE)
    # One purchases export is there from the start and stays (it may be corrected): with no
    # export of a sheet at all, every interval of it waits and keeps what it had, which a
    # clean run over a sheet nobody exports cannot equal.
    _write(where, *FILES[-1])
    present: dict[str, bool] = {FILES[-1][0]: False}  # name -> corrected
    rng = random.Random(seed)
    for action, index, hour_index in plan:
        name, rows = FILES[index]
        if action == "arrive" and name not in present:
            present[name] = False
            _write(where, name, rows)
        elif action == "correct" and name in present:
            present[name] = True
            _write(where, name, rows, corrected=True)
        elif action == "remove" and name in present and name != FILES[-1][0]:
            del present[name]
            (where / name).unlink()
        elif action == "run-hour":
            run([HourlyPipeline(hour=(H22, H23)[hour_index])], workers=rng.choice([1, 2]))
        elif action == "run-range":
            run_backfill(H22, STOP)
        elif action == "reconcile":
            reconcile(H22, STOP)
    # whatever happened, a reconcile then a backfill bring the warehouse to the final folder
    reconcile(H22, STOP)
    assert run_backfill(H22, STOP)
    final = snapshot(connection)

    reset_warehouse(connection)
    assert run_backfill(H22, STOP)
    assert snapshot(connection) == final


def test_cron_runs_on_a_stale_feed_alert_once_and_recover_once(
    db, folder: Path, monkeypatch: pytest.MonkeyPatch
):
    """The cron commands themselves report the source's health (no job of its own): one
    alert when the feed went quiet, none for the runs after it, one when it catches up."""
    from webhook_server import FakeSlack

    from playstudio_luigi import intervals
    from playstudio_luigi.alerts.message import validate_payload

    now = STOP + timedelta(hours=2)  # the exports end at 00:06: stale at this clock
    monkeypatch.setattr(intervals, "utcnow", lambda: now)
    hourly_feed(folder)
    with FakeSlack().running() as slack:
        monkeypatch.setenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", slack.url)
        for minutes in range(0, 50, 5):  # ten 5-minute cron runs, as cron starts them
            now = STOP + timedelta(hours=2, minutes=minutes)
            catalog._health_reported.clear()  # each run is a new process
            assert not run([FiveMinutePipeline(interval=now - timedelta(minutes=10))])  # waits
        stale = [p for p in slack.payloads if "stale" in json_text(p).lower()]
        assert len(slack.payloads) == len(stale) == 2  # one per sheet
        assert all(validate_payload(p) == [] for p in slack.payloads)
        assert "Purchases" in json_text(stale[0]) + json_text(stale[1])
        # the feed catches up: one recovery per sheet
        now = STOP + timedelta(hours=3)
        later = [(STOP + timedelta(hours=2, minutes=58), "U7", "PriceInUSD=1.00", tx(7))]
        export(folder / "late-p.xlsx", later, written_at=now - timedelta(minutes=1))
        export(folder / "late-s.xlsx", spins=[(STOP, "U7", "US", 1)], written_at=now)
        catalog._health_reported.clear()
        assert run([FiveMinutePipeline(interval=STOP + timedelta(hours=2, minutes=45))])
        assert len(slack.payloads) == 4
        assert all(
            "stale" not in json_text(p).lower() or "caught up" in json_text(p).lower()
            for p in slack.payloads[2:]
        )


def json_text(payload: dict) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False)
