"""Crash anywhere: ``kill -9`` a day's backfill at random moments, rerun, and nothing is lost.

Each trial runs ``playstudio-luigi backfill`` over the hours of a day's export
(``PLAYSTUDIO_FAULT_HOURS``, default 6 hours = 324 tasks, for CI time; 24 = the whole day,
1,296 tasks) against a fresh database and a fresh home (so the kill can also land while the
workbook is parsed into the cache), kills the whole process group with SIGKILL once or twice
at seeded random delays spread over a clean run's duration (with one or two workers; a run
that beats its drawn delay is restarted and killed once a drawn number of markers is committed
instead, so that fast bulk backfills are still interrupted mid-work), checks
the integrity invariants on what the dead run left, reruns the backfill to completion (one
worker) and compares every table with a clean run.

Trials: ``PLAYSTUDIO_FAULT_TRIALS`` (default 6; CI runs 6). The seed of trial *i* is
``PLAYSTUDIO_FAULT_SEED + i``, the seed defaulting to today's date (UTC) so that successive CI
runs kill at different points; a failing trial prints its seed, and
``PLAYSTUDIO_FAULT_SEED=<seed> PLAYSTUDIO_FAULT_TRIALS=1`` replays it. On demand:
``PLAYSTUDIO_FAULT_TRIALS=24 PLAYSTUDIO_FAULT_HOURS=24 .venv/bin/pytest
tests/integration/test_crash_recovery.py``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
from faults import (
    broken_invariants,
    clean_run,
    cli,
    cli_env,
    connected,
    differences,
    marker_count,
    marker_count_in,
    run_cli,
    scratch_cwd,
    scratch_database,
    snapshot,
)

from playstudio_luigi.testing import reset_warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = int(os.environ.get("PLAYSTUDIO_FAULT_TRIALS", "6"))
BASE_SEED = int(os.environ.get("PLAYSTUDIO_FAULT_SEED", datetime.now(UTC).strftime("%Y%m%d")))
HOURS = int(os.environ.get("PLAYSTUDIO_FAULT_HOURS", "6"))
DAY = ("--start", "2022-04-01T00", "--stop", f"2022-04-{1 + HOURS // 24:02d}T{HOURS % 24:02d}")
MARKERS_PER_HOUR = 53  # 54 tasks, the pipeline shares its gold marker


@pytest.fixture(scope="module")
def clean(pg_admin_url: str, day_source: Path, tmp_path_factory: pytest.TempPathFactory):
    """The expected tables (one uninterrupted backfill) and how long it took."""
    home = tmp_path_factory.mktemp("clean") / "home"
    expected, seconds = clean_run(pg_admin_url, day_source, ["backfill", *DAY], home)
    assert len(expected["gold.aggregated_final_table"]) >= 10 * HOURS
    bad_hours = len([i for i in range(12) if 2 * i < HOURS])
    assert len(expected["ops.quarantine"]) == 2 * bad_hours + 1
    assert len(expected["ops.task_markers"]) == MARKERS_PER_HOUR * HOURS
    return expected, seconds


@pytest.mark.parametrize("trial", range(TRIALS), ids=lambda i: f"seed{BASE_SEED + i}")
def test_kill_9_anywhere_then_rerun_equals_a_clean_run(
    trial: int, clean, pg_admin_url: str, day_source: Path, tmp_path: Path
) -> None:
    expected, clean_seconds = clean
    seed = BASE_SEED + trial
    rng = random.Random(seed)
    workers = rng.choice([1, 2])
    kills = rng.choice([1, 2])
    args = cli("backfill", *DAY, "--workers", str(workers))
    markers = len(expected["ops.task_markers"])
    story = [f"seed {seed}, --workers {workers}"]
    with scratch_database(pg_admin_url) as dsn:
        env = cli_env(dsn=dsn, home=tmp_path / "home", source=day_source)
        budget = clean_seconds * workers  # --workers 2 forks per task: slower here
        for _ in range(kills):
            delay = rng.uniform(0.2, max(0.5, 0.9 * budget))
            budget -= delay
            outcome = run_cli(args, env, kill_after=delay)
            story.append(
                f"kill -9 at {delay:.2f} s: {marker_count(dsn)} markers"
                if outcome.killed
                else f"finished before the kill at {delay:.2f} s (exit {outcome.returncode})"
            )
            if not outcome.killed:
                # Faster than the drawn moment: start afresh and kill at a drawn point of its
                # progress instead (the n-th marker committed), so that the trial still
                # interrupts the work (bulk day tasks make a run last a few seconds).
                target = random.Random(f"{seed}/progress").randint(1, markers - 1)
                with connected(dsn) as connection, connection.cursor() as cursor:
                    reset_warehouse(connection)
                    shutil.rmtree(tmp_path / "home", ignore_errors=True)
                    outcome = run_cli(
                        args, env, kill_when=lambda n=target: marker_count_in(cursor) >= n
                    )
                story.append(
                    f"kill -9 once {target} markers were committed: {marker_count(dsn)} markers"
                    if outcome.killed
                    else f"finished before {target} markers (exit {outcome.returncode})"
                )
            with connected(dsn) as connection:
                assert broken_invariants(connection) == {}, story
            if not outcome.killed:
                break
        # The next run (as the next cron job would) completes; one worker, for CI time.
        final = run_cli(cli("backfill", *DAY), env)
        story.append(f"rerun: exit {final.returncode} in {final.seconds:.1f} s")
        print("; ".join(story))
        assert final.returncode == 0, (story, final.stderr[-3000:])
        with connected(dsn) as connection:
            assert broken_invariants(connection) == {}, story
            # Markers included: every task of the day is complete, exactly once.
            assert differences(snapshot(connection), expected) == {}, story


def test_embedded_server_killed_under_load_is_recovered_by_the_rerun(
    clean, day_source: Path, tmp_path: Path, embedded_server
) -> None:
    """``kill -9`` of the embedded postmaster mid-backfill: no row is lost or duplicated.

    Usually the run fails, and the next run (no ``PLAYSTUDIO_DSN``: the embedded server of
    ``PLAYSTUDIO_HOME``) restarts the server by itself and completes with the same tables as
    a clean run. The killed run may also come through by itself (its retries reconnect, and
    a task's connection restarts the embedded server): then its own tables must equal the
    clean run's."""
    expected, _ = clean
    home = tmp_path / "home"
    server = embedded_server(home)
    env = cli_env(dsn=None, home=home, source=day_source)
    backfill = subprocess.Popen(
        cli("backfill", *DAY),
        env=env,
        cwd=scratch_cwd(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while True:  # under load: the backfill has written a good share of its markers
        assert backfill.poll() is None, "the backfill ended before the server was killed"
        assert time.monotonic() < deadline
        status = server.status()
        if status.running:
            try:
                if marker_count(status.dsn) >= MARKERS_PER_HOUR * HOURS // 3:
                    break
            except psycopg2.Error:
                pass  # schema not created yet
        time.sleep(0.1)
    os.kill(status.pid, signal.SIGKILL)
    _, stderr = backfill.communicate(timeout=600)

    if backfill.returncode == 0:
        # The killed run recovered by itself: nothing for a rerun to restart. start() is
        # idempotent (and restarts the server if the run ended before needing it again).
        with connected(server.start()) as connection:
            assert broken_invariants(connection) == {}, stderr[-3000:]
            assert differences(snapshot(connection), expected) == {}, stderr[-3000:]
        return

    assert not server.status().running
    rerun = run_cli(cli("backfill", *DAY), env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    status = server.status()
    assert status.running and status.pid is not None
    with connected(status.dsn) as connection:
        assert broken_invariants(connection) == {}
        assert differences(snapshot(connection), expected) == {}
