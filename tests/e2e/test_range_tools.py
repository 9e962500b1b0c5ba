"""Luigi's range tools as the README and ``deploy/crontab`` run them: every interval asked for
is built (Luigi's ``task_limit`` of 50 used to stop them silently), or the command fails naming
what it left and why."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from readme_commands import crontab_command, readme_line

from playstudio_luigi import FiveMinutePipeline
from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.db import markers
from playstudio_luigi.intervals import (
    FIVE_MINUTES,
    ONE_DAY,
    ONE_HOUR,
    floor_hour,
    hours_between,
    starts_between,
    utcnow,
)
from playstudio_luigi.tasks import graph
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE, SampleSpec, write_sample

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BIN = Path(sys.executable).parent
README_START, README_STOP = datetime(2022, 4, 1), datetime(2022, 4, 3)  # the README's lines
README = (README_START, README_STOP)


def user_env(tmp_path: Path, source: Path, dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    return {
        **env,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PLAYSTUDIO_SOURCE": str(source),
        "PLAYSTUDIO_DSN": dsn,
        "PLAYSTUDIO_HOME": str(tmp_path / "home"),
    }


def run_line(line: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        shlex.split(line),
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def cli(*args: str) -> str:
    return shlex.join([str(BIN / "playstudio-luigi"), *args])


def with_gap(
    env: dict[str, str],
    tmp_path: Path,
    built: tuple[datetime, datetime],
    gap: tuple[datetime, datetime],
    layer: str,
) -> None:
    """``built`` built by a backfill, then ``layer`` and what follows it removed for ``gap``:
    the gap a range tool heals, in a range where it runs only the missing layers (not all ~53
    tasks of every hour of a fresh warehouse)."""

    def span(interval: tuple[datetime, datetime]) -> tuple[str, ...]:
        return ("--start", f"{interval[0]:%Y-%m-%dT%H}", "--stop", f"{interval[1]:%Y-%m-%dT%H}")

    for line in (cli("backfill", *span(built)), cli("invalidate", *span(gap), "--layer", layer)):
        result = run_line(line, tmp_path, env)
        assert result.returncode == 0, result.stderr[-3000:]


def complete_hours(hours: list[datetime]) -> set[datetime]:
    db_connection.reset()  # the subprocess made the schema; read it afresh
    return graph.complete_hours(hours)


@pytest.mark.parametrize("tool", ["RangeDaily", "RangeHourly", "RangeByMinutes"])
def test_readme_range_line_builds_every_interval(tool, warehouse, tmp_path):
    env = user_env(tmp_path, Path(str(BUNDLED_SAMPLE)), warehouse)
    if tool == "RangeHourly":  # gold missing for all 48 hours
        with_gap(env, tmp_path, README, README, "gold")
    elif tool == "RangeByMinutes":  # silver missing for the first 6 hours: 72 intervals
        with_gap(env, tmp_path, README, (README_START, README_START + 6 * ONE_HOUR), "silver")
    result = run_line(readme_line("bash", f"playstudio_luigi {tool} "), tmp_path, env)
    assert result.returncode == 0, result.stderr[-3000:]
    hours = hours_between(README_START, README_STOP)
    assert len(hours) == 48  # the sample's two days
    if tool == "RangeByMinutes":  # through silver purchases: all 576 intervals, not 50
        starts = starts_between(README_START, README_STOP, FIVE_MINUTES)
        done = markers.completed_starts(FiveMinutePipeline.marker_family(), starts)
        assert len(done) == len(starts) == 576
    else:  # through gold (more than 50 hours: the nightly healing line below)
        assert complete_hours(hours) == set(hours)


def test_a_task_limit_that_leaves_intervals_fails_naming_them(warehouse, tmp_path):
    line = readme_line("bash", "playstudio_luigi RangeDaily ") + " --task-limit 1"
    result = run_line(line, tmp_path, user_env(tmp_path, Path(str(BUNDLED_SAMPLE)), warehouse))
    assert result.returncode == 30, result.stderr[-3000:]  # [retcode] task_failed
    assert (
        "RangeDaily left 1 of 2 missing DayPipeline intervals unscheduled "
        "(2022-04-02 .. 2022-04-02) because task_limit = 1"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    hours = hours_between(README_START, README_STOP)
    assert complete_hours(hours) == set(hours[:24])  # the day it scheduled


def test_nightly_healing_line_heals_every_closed_hour(warehouse, tmp_path):
    now = utcnow()
    first = floor_hour(now - timedelta(days=3))
    source = tmp_path / "exports" / "playstudio.xlsx"
    source.parent.mkdir()
    # An export of the last four days, written now: every hour that has ended (plus the
    # allowed lateness) is closed.
    write_sample(source, SampleSpec(purchases=3000, start=first - ONE_DAY, hours=4 * 24 + 1))
    env = user_env(tmp_path, source, warehouse)
    last = floor_hour(now) - ONE_HOUR  # its hours are all closed, whatever the minute now
    with_gap(env, tmp_path, (first, last), (first, last), "gold")  # 71 hours
    command = crontab_command("RangeHourly").replace("cd /srv/playstudio", f"cd {tmp_path}")
    (tmp_path / "log").mkdir()
    result = subprocess.run(
        ["bash", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = (tmp_path / "log" / "range.log").read_text()
    assert result.returncode == 0, log[-3000:]
    # Hours from the line's --start (or the next one, if the clock turned an hour meanwhile)
    # to the last hour closed when the line started: about 70, not 50.
    closed = hours_between(first + ONE_HOUR, floor_hour(now) - ONE_HOUR)
    assert len(closed) >= 69
    assert complete_hours(closed) == set(closed)
