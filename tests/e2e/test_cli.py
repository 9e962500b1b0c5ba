"""The commands a user types, in subprocesses, from a directory with no luigi.cfg in sight."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from reference_model import gold_reference

from playstudio_luigi.db.connection import connect
from playstudio_luigi.intervals import utcnow
from playstudio_luigi.source.formats import read_export, sheet_kinds
from playstudio_luigi.source.reader import read_sheet
from playstudio_luigi.source.schema import LAYOUTS
from playstudio_luigi.testing import GOLD_COLUMNS, table_rows, write_workbook
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BIN = Path(sys.executable).parent
SAMPLE = Path(str(BUNDLED_SAMPLE))


def command(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900):
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: none of our variables, a home of its own (where the embedded
    warehouse lives by default), and an empty working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    return {**env, "HOME": str(tmp_path / "home")}


def _stop_embedded(work: Path, env: dict[str, str]) -> None:
    """Stop the embedded server a command started in ``work`` and remove its data."""
    status = command([str(BIN / "playstudio-luigi"), "db", "status"], work, env)
    command([str(BIN / "playstudio-luigi"), "db", "stop"], work, env)
    for line in status.stdout.splitlines():
        if line.startswith("data directory: /var/lib/playstudio_luigi/"):
            shutil.rmtree(Path(line.split(": ", 1)[1]).parent, ignore_errors=True)


def test_readme_main_command_runs_the_sample_with_the_embedded_database(
    tmp_path: Path, user_env: dict[str, str]
):
    work = tmp_path / "work"
    try:
        result = command([str(BIN / "playstudio-luigi"), "demo"], work, user_env)
        assert result.returncode == 0, result.stderr[-3000:]
        expected_rows = len(gold_reference(SAMPLE))
        assert f"gold.aggregated_final_table: {expected_rows:,} rows" in result.stdout
        assert "quarantined source rows: 0" in result.stdout
        status = command([str(BIN / "playstudio-luigi"), "db", "status"], work, user_env)
        assert status.returncode == 0
        assert status.stdout.startswith("running")
        assert not (work / ".playstudio").exists(), "the warehouse is the user's, in ~/.playstudio"
    finally:
        _stop_embedded(work, user_env)
    stopped = command([str(BIN / "playstudio-luigi"), "db", "status"], work, user_env)
    assert stopped.stdout.startswith("stopped")


@pytest.fixture
def two_databases(fresh_database, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with (
        fresh_database(tmp_path / "a") as first,
        fresh_database(tmp_path / "b") as second,
    ):
        yield first, second


TABLES = {
    "silver.silver_purchases": ["transaction_id", "event_time", "revenue", "source_copies"],
    "silver.silver_spins_hourly": ["app_hour", "user_id", "country", "total_spins"],
    "gold.aggregated_final_table": list(GOLD_COLUMNS),
}


def _tables(dsn: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple]]:
    from playstudio_luigi.db import connection as db_connection

    monkeypatch.setenv("PLAYSTUDIO_DSN", dsn)
    db_connection.reset()
    conn = connect()
    try:
        return {t: table_rows(conn, t, cols) for t, cols in TABLES.items()}
    finally:
        conn.close()
        db_connection.reset()


def test_luigi_range_hourly_equals_backfill(
    two_databases, tmp_path: Path, user_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    range_dsn, backfill_dsn = two_databases
    work = tmp_path / "work"
    env = {**user_env, "PLAYSTUDIO_SOURCE": str(SAMPLE), "PLAYSTUDIO_HOME": str(tmp_path / "h")}
    ranged = command(
        [
            str(BIN / "luigi"),
            "--module",
            "playstudio_luigi",
            "RangeHourly",
            "--of",
            "HourlyPipeline",
            "--start",
            "2022-04-01T20",
            "--stop",
            "2022-04-02T02",
            "--local-scheduler",
            "--log-level",
            "WARNING",
        ],
        work,
        {**env, "PLAYSTUDIO_DSN": range_dsn},
    )
    assert ranged.returncode == 0, ranged.stderr[-3000:]
    backfill = command(
        [
            str(BIN / "playstudio-luigi"),
            "backfill",
            "--start",
            "2022-04-01T20",
            "--stop",
            "2022-04-02T02",
            "--workers",
            "2",
        ],
        work,
        {**env, "PLAYSTUDIO_DSN": backfill_dsn},
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    via_range = _tables(range_dsn, monkeypatch)
    assert via_range["gold.aggregated_final_table"], "the range must produce gold rows"
    assert {r[0].date() for r in via_range["gold.aggregated_final_table"]} == {
        datetime(2022, 4, 1).date(),
        datetime(2022, 4, 2).date(),
    }
    assert via_range == _tables(backfill_dsn, monkeypatch)


def test_range_by_minutes_loads_silver_purchases(
    warehouse: str, tmp_path: Path, user_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    env = {
        **user_env,
        "PLAYSTUDIO_SOURCE": str(SAMPLE),
        "PLAYSTUDIO_DSN": warehouse,
        "PLAYSTUDIO_HOME": str(tmp_path / "h"),
    }
    result = command(
        [
            str(BIN / "luigi"),
            "--module",
            "playstudio_luigi",
            "RangeByMinutes",
            "--of",
            "FiveMinutePipeline",
            "--minutes-interval",
            "5",
            "--start",
            "2022-04-01T0000",
            "--stop",
            "2022-04-01T0300",
            "--local-scheduler",
            "--log-level",
            "WARNING",
        ],
        tmp_path / "work",
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _tables(warehouse, monkeypatch)["silver.silver_purchases"]
    assert rows and all(datetime(2022, 4, 1, 0) <= r[1] < datetime(2022, 4, 1, 3) for r in rows)


def _env(user_env: dict[str, str], tmp_path: Path, source: Path, dsn: str) -> dict[str, str]:
    return {
        **user_env,
        "PLAYSTUDIO_SOURCE": str(source),
        "PLAYSTUDIO_DSN": dsn,
        "PLAYSTUDIO_HOME": str(tmp_path / "h"),
    }


def _luigi(*args: str) -> list[str]:
    return [str(BIN / "luigi"), "--module", "playstudio_luigi", *args, "--local-scheduler"]


def test_failed_run_exits_non_zero_from_any_directory(
    warehouse: str, tmp_path: Path, user_env: dict[str, str]
):
    broken = write_workbook(
        tmp_path / "broken.xlsx",
        purchase_header=("date", "userId", "revenue"),  # transaction_id missing
        purchases=[(datetime(2022, 4, 1, 22, 1), "U1", "PriceInUSD=1.00")],
    )
    env = _env(user_env, tmp_path, broken, warehouse)
    work = tmp_path / "work"
    result = command(_luigi("FiveMinutePipeline", "--interval", "2022-04-01T2200"), work, env)
    assert result.returncode != 0
    assert "has no column 'transaction_id'" in result.stderr
    cli = [str(BIN / "playstudio-luigi"), "backfill"]
    backfill = command([*cli, "--start", "2022-04-01T22", "--stop", "2022-04-01T23"], work, env)
    assert backfill.returncode != 0


def test_open_interval_waits_with_missing_data_status(
    warehouse: str, tmp_path: Path, user_env: dict[str, str]
):
    now = utcnow().replace(second=0, microsecond=0)
    current = now.replace(minute=now.minute - now.minute % 5).strftime("%Y-%m-%dT%H%M")
    env = _env(user_env, tmp_path, SAMPLE, warehouse)
    result = command(_luigi("FiveMinutePipeline", "--interval", current), tmp_path / "work", env)
    assert result.returncode == 20  # [retcode] missing_data, packaged default
    waits = [line for line in result.stderr.splitlines() if "waiting for the export" in line]
    assert len(waits) == 1, result.stderr[-2000:]
    assert "needs an export written at or after" in waits[0]
    assert "Traceback" not in result.stderr


def test_sample_writes_a_feed_folder_holding_the_workbooks_rows(
    tmp_path: Path, user_env: dict[str, str]
):
    work = tmp_path / "work"
    cli = [str(BIN / "playstudio-luigi"), "sample"]
    options = ["--purchases", "80", "--hours", "3", "--users", "6"]
    out = tmp_path / "feed"
    feed = command(
        [*cli, "--files-per", "5min", "--formats", "csv,parquet,xlsx", "--out", str(out), *options],
        work,
        user_env,
    )
    assert feed.returncode == 0, feed.stderr[-3000:]
    assert f"wrote 39 export files to {out} (13 .xlsx, 13 .csv, 13 .parquet)" in feed.stdout
    book = command([*cli, "--out", str(tmp_path / "book.xlsx"), *options], work, user_env)
    assert book.returncode == 0, book.stderr[-3000:]

    files = sorted(out.rglob("*.*"))
    assert len(files) == 3 * 12 + 3  # purchases every 5 minutes, spins every hour
    found: dict[str, list[tuple]] = {kind: [] for kind in LAYOUTS}
    for path in files:
        for kind in sheet_kinds(path):
            table = read_export(path, LAYOUTS[kind])
            found[kind] += [tuple(row.values())[1:] for row in table.to_pylist()]
    for kind, layout in LAYOUTS.items():
        whole = read_sheet(tmp_path / "book.xlsx", layout).to_pylist()
        assert sorted(found[kind]) == sorted(tuple(row.values())[1:] for row in whole), kind

    usage = command([*cli, "--help"], work, user_env)
    assert "--files-per {hour,5min}" in usage.stdout and "--formats FORMATS" in usage.stdout
    mixed = command([*cli, "--out", str(tmp_path / "x.xlsx"), "--formats", "csv"], work, user_env)
    assert mixed.returncode == 2 and "need --files-per" in mixed.stderr
