"""Errors through ``luigi --module playstudio_luigi`` as cron runs it: a malformed interval is
one line (and runs nothing), a known error is one line per task plus Luigi's summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from playstudio_luigi.db.connection import connect
from playstudio_luigi.testing import table_rows
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LUIGI = [str(Path(sys.executable).parent / "luigi"), "--module", "playstudio_luigi"]


def luigi(args: list[str], tmp_path: Path, source: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUIGI_")}
    env.pop("PLAYSTUDIO_SOURCE", None)
    if source is not None:
        env["PLAYSTUDIO_SOURCE"] = source
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [*LUIGI, *args, "--local-scheduler"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def markers() -> list[tuple]:
    connection = connect()
    try:
        return table_rows(connection, "ops.task_markers", ["task_family", "interval_start"])
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["FiveMinutePipeline", "--interval", "2022-04-01T22"],
            "IntervalFormatError: '2022-04-01T22' is not a minute like 2022-04-01T2205 "
            "(YYYY-MM-DDTHHMM)",
        ),
        (
            ["HourlyPipeline", "--hour", "2022-04-01T2"],
            "IntervalFormatError: '2022-04-01T2' is not an hour like 2022-04-01T22 (YYYY-MM-DDTHH)",
        ),
        (
            ["RangeHourly", "--of", "HourlyPipeline", "--start", "2022-04-01", "--stop", "x"],
            "IntervalFormatError: '2022-04-01' is not an hour like 2022-04-01T22 (YYYY-MM-DDTHH)",
        ),
    ],
)
def test_a_malformed_interval_is_one_line_and_runs_nothing(db, tmp_path, args, expected):
    result = luigi(args, tmp_path, str(BUNDLED_SAMPLE))
    assert result.returncode == 40, result.stderr[-3000:]  # [retcode] unhandled_exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"ERROR: {expected}"]
    assert markers() == []


def test_a_missing_source_is_one_line_per_task(db, tmp_path):
    result = luigi(["HourlyPipeline", "--hour", "2022-04-01T22"], tmp_path, source=None)
    assert result.returncode == 30, result.stderr[-3000:]  # [retcode] task_failed
    assert "Traceback" not in result.stderr
    error = "ConfigurationError: no source configured: set PLAYSTUDIO_SOURCE"
    failed = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(failed) == 13  # twelve 5-minute extracts and the hour's spins
    assert result.stderr.count(error) == 13
    assert "===== Luigi Execution Summary =====" in result.stderr
