"""``Reconcile`` through cron prints what ``playstudio-luigi reconcile`` prints (issue 16, item
11), the cron line as ``deploy/crontab`` has it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from source_rows import tx

from playstudio_luigi.intervals import utcnow
from playstudio_luigi.testing import write_workbook

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BIN = Path(sys.executable).parent


def test_reconcile_from_cron_prints_the_report(warehouse: str, tmp_path: Path):
    # Two hours ago: closed, and inside the window of --hours-back 6 whatever the minute now.
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    purchases = [(hour + timedelta(minutes=1), "U1", "PriceInUSD=4.99", tx(1))]
    spins = [(hour, "U1", "US", 5)]
    source = write_workbook(tmp_path / "export.xlsx", purchases, spins)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    env.update(PLAYSTUDIO_DSN=warehouse, PLAYSTUDIO_SOURCE=str(source), HOME=str(tmp_path / "home"))
    start, stop = f"{hour:%Y-%m-%dT%H}", f"{hour + timedelta(hours=1):%Y-%m-%dT%H}"
    cli = [str(BIN / "playstudio-luigi"), "backfill", "--start", start, "--stop", stop]
    loaded = subprocess.run(cli, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-3000:]

    late = (hour + timedelta(minutes=40), "U2", "PriceInUSD=1.99", tx(2))  # a late row
    write_workbook(source, [*purchases, late], spins)
    cron = [str(BIN / "luigi"), "--module", "playstudio_luigi", "Reconcile", "--hours-back", "6"]
    result = subprocess.run(
        [*cron, "--local-scheduler"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = result.stdout.strip().splitlines()
    assert report[0].startswith("reconciled ["), result.stdout
    assert report[0].endswith("processed interval(s) checked, 1 changed"), result.stdout
    assert report[1:] == [
        f"  Purchases {hour + timedelta(minutes=40):%Y-%m-%d %H:%M}: "
        "+1 added, ~0 changed, -0 removed",
        f"  rebuilt 1 hour(s): {hour:%Y-%m-%dT%H}",
    ]

    again = subprocess.run(
        [*cron, "--local-scheduler"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.strip().endswith("processed interval(s) checked, 0 changed")
