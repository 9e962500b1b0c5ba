"""``playstudio-luigi status`` and ``docs`` as a user runs them show the source feed: each
sheet's watermark and newest file, and ``STALE since ... (N intervals wait)`` when it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from playstudio_luigi.alerts.stale import SheetHealth, report_source_health
from playstudio_luigi.intervals import utcnow

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CLI = str(Path(sys.executable).parent / "playstudio-luigi")
RANGE = ["--start", "2022-04-01T22", "--stop", "2022-04-01T23"]
PURCHASES_FILE = "/data/exports/purchases-0500.csv"
SPINS_FILE = "/data/exports/spins-06.xlsx"
HELD_BY = "/data/exports/purchases-0505.xlsx"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture
def user_env(warehouse: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    (tmp_path / "home").mkdir()
    return {**env, "HOME": str(tmp_path / "home"), "PLAYSTUDIO_DSN": warehouse}


def test_status_says_which_sheet_is_stale_since_when(user_env, tmp_path, monkeypatch):
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    now = utcnow().replace(microsecond=0)
    purchases_written = now - timedelta(hours=2)
    report_source_health(
        [
            SheetHealth("Purchases", purchases_written, PURCHASES_FILE, 23, held_by=HELD_BY),
            SheetHealth("Spins Hourly", now - timedelta(minutes=3), SPINS_FILE, 0),
        ],
        now,
    )
    text = run(["status", *RANGE], tmp_path, user_env)
    assert text.returncode == 3, text.stderr  # nothing loaded: intervals missing
    lines = text.stdout.splitlines()
    heading = lines.index("Source feed (stale when the newest export is over 30 min old)")
    purchases, spins = lines[heading + 1], lines[heading + 2]
    since = purchases_written + timedelta(minutes=30)
    assert purchases.startswith(
        f"  Purchases      newest export {purchases_written:%Y-%m-%d %H:%M} UTC ({PURCHASES_FILE})"
        f", held back by {HELD_BY} (unreadable), checked"
    ), purchases
    assert purchases.endswith(f"; STALE since {since:%Y-%m-%d %H:%M} UTC (23 intervals wait)")
    assert spins.startswith("  Spins Hourly   newest export") and spins.endswith("; ok"), spins
    assert SPINS_FILE in spins
    assert lines[heading + 3] == "Slowest recent runs"

    data = json.loads(run(["status", *RANGE, "--json"], tmp_path, user_env).stdout)
    assert data["source_stale_after_seconds"] == 1800
    by_sheet = {item["sheet"]: item for item in data["source"]}
    assert by_sheet["Purchases"]["stale"] is True
    assert by_sheet["Purchases"]["stale_since"] == str(since)
    assert by_sheet["Purchases"]["watermark"] == str(purchases_written)
    assert by_sheet["Purchases"]["newest_file"] == PURCHASES_FILE
    assert by_sheet["Purchases"]["waiting_intervals"] == 23
    assert by_sheet["Purchases"]["held_by"] == HELD_BY
    assert by_sheet["Spins Hourly"]["stale"] is False
    assert by_sheet["Spins Hourly"]["stale_since"] is None


def test_a_sheet_nobody_checked_lately_is_stale_by_the_clock(user_env, tmp_path, monkeypatch):
    """The last run saw a fresh export, then runs stopped: status judges it now."""
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    then = utcnow().replace(microsecond=0) - timedelta(hours=3)
    report_source_health([SheetHealth("Purchases", then, PURCHASES_FILE, 0)], then)
    text = run(["status", *RANGE], tmp_path, user_env)
    line = next(line for line in text.stdout.splitlines() if line.startswith("  Purchases"))
    assert f"; STALE since {then + timedelta(minutes=30):%Y-%m-%d %H:%M} UTC" in line, line
    assert f"checked {then:%Y-%m-%d %H:%M}" in line


def test_status_on_a_warehouse_no_run_has_checked(user_env, tmp_path):
    text = run(["status", *RANGE], tmp_path, user_env)
    assert text.returncode == 3, text.stderr
    assert "  not checked yet: no run has recorded the watermarks" in text.stdout.splitlines()
    data = json.loads(run(["status", *RANGE, "--json"], tmp_path, user_env).stdout)
    assert data["source"] == []


def test_status_honours_the_configured_threshold(user_env, tmp_path, monkeypatch):
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    now = utcnow().replace(microsecond=0)
    report_source_health([SheetHealth("Purchases", now - timedelta(hours=2), None, 0)], now)
    (tmp_path / "luigi.cfg").write_text("[playstudio]\nsource_stale_after = 3 hours\n")
    text = run(["status", *RANGE], tmp_path, user_env)
    assert "Source feed (stale when the newest export is over 3 h old)" in text.stdout
    line = next(line for line in text.stdout.splitlines() if line.startswith("  Purchases"))
    assert line.endswith("; ok"), line
    (tmp_path / "luigi.cfg").write_text("[playstudio]\nsource_stale_after = soon\n")
    bad = run(["status", *RANGE], tmp_path, user_env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: [playstudio] source_stale_after = 'soon' is not a positive duration: "
        "write e.g. '30 minutes', '2 hours' or 'PT30M'"
    ]


def test_data_docs_show_the_stale_sheet(user_env, tmp_path, monkeypatch):
    monkeypatch.delenv("PLAYSTUDIO_SLACK_WEBHOOK_URL", raising=False)
    now = utcnow().replace(microsecond=0)
    report_source_health(
        [
            SheetHealth("Purchases", now - timedelta(hours=2), PURCHASES_FILE, 23),
            SheetHealth("Spins Hourly", now, SPINS_FILE, 0),
        ],
        now,
    )
    built = run(["docs", "--out", str(tmp_path / "site"), *RANGE], tmp_path, user_env)
    assert built.returncode == 0, built.stderr
    since = now - timedelta(hours=2) + timedelta(minutes=30)
    for page in ("index.html", "coverage.html"):
        html = (tmp_path / "site" / page).read_text()
        assert 'data-source-feed="stale"' in html, page
        assert 'data-sheet="Purchases" data-stale="true" data-waiting="23"' in html
        assert 'data-sheet="Spins Hourly" data-stale="false" data-waiting="0"' in html
        assert f"STALE since {since:%Y-%m-%d %H:%M} UTC" in html
        assert PURCHASES_FILE in html
