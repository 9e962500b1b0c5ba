"""What the commands print, as a user types them (issue 16, items 9 and 10): gaps in
``status``, reversed ranges, ``status | head``, ``db url`` with ``PLAYSTUDIO_DSN``, and
``luigi-deps``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2.extensions
import pytest

from playstudio_luigi.reports.status import layer_outputs
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BIN = Path(sys.executable).parent
CLI = str(BIN / "playstudio-luigi")
STATUS_RANGE = ["--start", "2022-04-01T20", "--stop", "2022-04-02T02"]


def run(args: list[str], cwd: Path, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False, **kwargs
    )


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    (tmp_path / "home").mkdir()
    return {**env, "HOME": str(tmp_path / "home")}


@pytest.fixture
def gapped(warehouse: str, tmp_path: Path, user_env: dict[str, str]) -> dict[str, str]:
    """The sample's hours 22:00 and 00:00 loaded, 20:00, 21:00, 23:00 and 01:00 not."""
    env = {**user_env, "PLAYSTUDIO_DSN": warehouse, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE)}
    for start, stop in (("2022-04-01T22", "2022-04-01T23"), ("2022-04-02T00", "2022-04-02T01")):
        loaded = run([CLI, "backfill", "--start", start, "--stop", stop], tmp_path, env)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
    return env


def _expand(collapsed: str, step: timedelta) -> list[str]:
    """The labels a collapsed list stands for: ``a … b (n)`` must be n labels, step apart."""
    labels = []
    for part in collapsed.split(", "):
        if " … " not in part:
            labels.append(part)
            continue
        first, rest = part.split(" … ")
        last, count = rest.rstrip(")").split(" (")
        run_ = [datetime.fromisoformat(first) + i * step for i in range(int(count))]
        assert f"{run_[-1]:%Y-%m-%dT%H:%M}" == last, f"{part} is not a run of {step}"
        labels += [f"{moment:%Y-%m-%dT%H:%M}" for moment in run_]
    return labels


def test_status_never_joins_gaps_that_a_done_interval_separates(gapped, tmp_path: Path):
    text = run([CLI, "status", *STATUS_RANGE], tmp_path, gapped)
    assert text.returncode == 3, text.stderr  # missing intervals
    gold = next(line for line in text.stdout.splitlines() if "GoldAggregate" in line)
    assert gold.endswith(
        "missing 4: 2022-04-01T20:00 … 2022-04-01T21:00 (2), 2022-04-01T23:00, 2022-04-02T01:00"
    ), gold
    data = json.loads(run([CLI, "status", *STATUS_RANGE, "--json"], tmp_path, gapped).stdout)
    widths = {output.family: output.width for output in layer_outputs()}
    lines = text.stdout.splitlines()[1 : 1 + len(data["coverage"])]
    for line, item in zip(lines, data["coverage"], strict=True):
        assert item["family"] in line and item["missing"], line
        shown = line.split(f"missing {len(item['missing'])}: ", 1)[1]
        assert _expand(shown, widths[item["family"]]) == item["missing"], line


def test_status_into_head_ends_quietly(gapped, tmp_path: Path):
    # Two months of intervals as JSON: megabytes, far more than a pipe holds once head exits.
    long = f"{CLI} status --start 2022-03-01T00 --stop 2022-05-01T00 --json | head -1"
    result = run(["bash", "-c", long], tmp_path, gapped)
    assert result.stdout.strip() == "{"
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, (
        result.stderr[-2000:]
    )


@pytest.mark.parametrize("command", ["invalidate", "status", "summary"])
def test_reversed_range_is_one_line_error(command: str, tmp_path: Path, user_env):
    args = [CLI, command, "--start", "2022-04-03T00", "--stop", "2022-04-01T00"]
    result = run(args, tmp_path, user_env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip().splitlines() == [
        f"playstudio-luigi {command}: error: --stop 2022-04-01T00 is not after --start "
        "2022-04-03T00: the range is [start, stop)"
    ]
    assert "invalidated" not in result.stdout
    assert not (Path(user_env["HOME"]) / ".playstudio").exists()  # nothing started for it


def test_db_url_with_a_dsn_is_usable_by_psql_and_holds_no_password(
    warehouse: str, tmp_path: Path, user_env
):
    secret = "s3cret-pw"
    dsn = psycopg2.extensions.make_dsn(warehouse, password=secret)
    env = {**user_env, "PLAYSTUDIO_DSN": dsn}
    url = run([CLI, "db", "url"], tmp_path, env)
    assert url.returncode == 0, url.stderr
    assert secret not in url.stdout + url.stderr and "***" not in url.stdout
    assert "without its password" in url.stderr  # what the printed form is for
    # The Troubleshooting line, as written (the test server trusts local connections).
    psql = run(
        ["bash", "-c", 'psql "$(playstudio-luigi db url)" -Atc "select 41 + 1"'],
        tmp_path,
        {**env, "PATH": f"{BIN}{os.pathsep}{env['PATH']}"},
    )
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == "42"


def test_luigi_deps_describes_every_task(tmp_path: Path, user_env):
    args = [str(BIN / "luigi-deps"), "--module", "playstudio_luigi", "HourlyPipeline"]
    result = run([*args, "--hour", "2022-04-01T22"], tmp_path, user_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "to be determined" not in result.stdout
    tasks = [line for line in result.stdout.splitlines() if "TASK:" in line]
    outputs = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if "TASK:" not in line]
    assert len(tasks) == len(outputs) > 20  # twelve purchase chains, the spins chain, gold
    assert "[DB] warehouse:ops.task_markers[GoldAggregate 2022-04-01T22:00]" in outputs
    assert "[DB] warehouse:ops.task_markers[ExtractPurchases 2022-04-01T22:55]" in outputs
    assert not (Path(user_env["HOME"]) / ".playstudio").exists()  # listing needs no database
