"""Two machines, one luigid, the same backfill or the same ``luigi ... RangeHourly``: the one
that finishes first waits (bounded) for what the other is building, and both exit 0 once every
interval is complete, whoever built it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg2
import pytest
from luigid_server import start_luigid, task_list

from playstudio_luigi.db import connection as db_connection
from playstudio_luigi.intervals import hours_between
from playstudio_luigi.operations.shared_runs import wait_for_hours
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.extract import ExtractPurchases
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).parent / "playstudio-luigi"
START, STOP = datetime(2022, 4, 1, 0), datetime(2022, 4, 1, 3)
HOURS = hours_between(START, STOP)


def start_machine(command: list[str], home: Path, config: Path | None = None) -> subprocess.Popen:
    """``command`` as another machine would run it (its own home), its stderr in
    ``home/stderr.log`` (a pipe nobody reads while it waits would block it)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE), "PLAYSTUDIO_HOME": str(home)}
    if config is not None:
        env["LUIGI_CONFIG_PATH"] = str(config)
    with open(home / "stderr.log", "w") as stderr:
        return subprocess.Popen(command, env=env, stderr=stderr)


def scheduler_args(port: int) -> list[str]:
    return ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]


def machine(port: int, home: Path) -> subprocess.Popen:
    """``playstudio-luigi backfill`` through the luigid on ``port``, as another machine."""
    args = ["backfill", "--start", f"{START:%Y-%m-%dT%H}", "--stop", f"{STOP:%Y-%m-%dT%H}"]
    return start_machine([str(CLI), *args, *scheduler_args(port)], home)


def range_machine(
    port: int, home: Path, config: Path | None = None, workers: int = 1
) -> subprocess.Popen:
    """The README's ``RangeHourly`` line through the luigid on ``port``, as another machine."""
    args = ["--module", "playstudio_luigi", "RangeHourly", "--of", "HourlyPipeline"]
    span = ["--start", f"{START:%Y-%m-%dT%H}", "--stop", f"{STOP:%Y-%m-%dT%H}"]
    # Luigi's pid lock (one such command per machine) in each "machine's" own directory.
    luigi_args = ["--lock-pid-dir", str(home / "luigi"), "--workers", str(workers)]
    command = [str(CLI.parent / "luigi"), *args, *span, *scheduler_args(port), *luigi_args]
    return start_machine(command, home, config)


def stderr_of(home: Path) -> str:
    return (home / "stderr.log").read_text()


def wait_for_line(process: subprocess.Popen, home: Path, *words: str) -> None:
    """Until a line of ``process``'s stderr has all of ``words``; fails if it exits before,
    or has not said it within 5 minutes (it hangs)."""
    deadline = time.monotonic() + 300
    while not any(all(w in line for w in words) for line in stderr_of(home).splitlines()):
        assert process.poll() is None, f"exited {process.returncode}: {stderr_of(home)[-3000:]}"
        assert time.monotonic() < deadline, f"still running: {stderr_of(home)[-3000:]}"
        time.sleep(0.2)


def wait_running_first_extract(port: int, process: subprocess.Popen, home: Path) -> None:
    """Until luigid shows ``process``'s worker running the first hour's first extract (blocked
    on the lock), so that the other machine cannot take that one."""
    first = f"{START:%Y-%m-%dT%H%M}"
    while not any(
        task["name"] == "ExtractPurchases" and task["params"].get("interval") == first
        for task in task_list(port, "RUNNING").values()
    ):
        assert process.poll() is None, f"exited {process.returncode}: {stderr_of(home)[-3000:]}"
        time.sleep(0.2)


def lock_first_extract(url: str) -> psycopg2.extensions.connection:
    """Hold the advisory lock the day's first extract takes: its transaction (and so the day
    task, RUNNING in luigid) waits until the connection closes."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    key = int((START - datetime(1970, 1, 1)).total_seconds() // 60)  # tasks.base._lock_key
    with connection.cursor() as cursor:
        cursor.execute(
            "select pg_advisory_lock(hashtext(%s), %s)", (ExtractPurchases.marker_family(), key)
        )
    return connection


def test_the_machine_done_first_waits_for_the_other_and_both_exit_0(warehouse, tmp_path):
    db_connection.connect().close()  # the schema, before the lock's session looks for nothing
    lock = lock_first_extract(warehouse)
    config = "[scheduler]\nworker_disconnect_delay = 3\n"
    with start_luigid(tmp_path / "luigid", config) as server:
        port = server.port
        a, b = tmp_path / "a", tmp_path / "b"
        builder = machine(port, a)
        try:
            while not task_list(port, "RUNNING"):  # the builder holds the day (blocked on the lock)
                assert builder.poll() is None, stderr_of(a)[-3000:]
                time.sleep(0.2)
            waiter = machine(port, b)
            # Its own work done, it waits for the builder's day.
            wait_for_line(waiter, b, "waiting", "another worker is building")
            assert waiter.poll() is None
        finally:
            lock.close()  # the builder's day goes on
        assert builder.wait(timeout=600) == 0, stderr_of(a)[-3000:]
        assert waiter.wait(timeout=600) == 0, stderr_of(b)[-3000:]
    db_connection.reset()
    assert graph.complete_hours(HOURS) == set(HOURS)


def test_two_machines_on_one_range_both_exit_0_once_every_interval_is_built(warehouse, tmp_path):
    """Luigi's own exit codes said 25 on both (tasks the other one ran were "not granted run
    permission"), although gold was complete."""
    db_connection.connect().close()
    lock = lock_first_extract(warehouse)
    with start_luigid(tmp_path / "luigid", "[scheduler]\nworker_disconnect_delay = 3\n") as server:
        a, b = tmp_path / "a", tmp_path / "b"
        builder = range_machine(server.port, a)
        try:
            wait_running_first_extract(server.port, builder, a)
            # With --workers 2 its range task runs in a process Luigi forked (the nested
            # build once hung there on Luigi's fork lock).
            waiter = range_machine(server.port, b, workers=2)
            wait_for_line(
                waiter, b, "RangeHourly: waiting", "interval(s) another worker is building"
            )
            assert waiter.poll() is None
        finally:
            lock.close()
        assert builder.wait(timeout=600) == 0, stderr_of(a)[-3000:]
        assert waiter.wait(timeout=600) == 0, stderr_of(b)[-3000:]
        # Each range task is its machine's own, not one handed to either of them.
        ranges = [name for name in task_list(server.port, "DONE") if name.startswith("Range")]
        assert len(ranges) == 2, ranges
    db_connection.reset()
    assert graph.complete_hours(HOURS) == set(HOURS)


def test_a_range_waiting_for_another_machine_gives_up_at_the_bound_naming_what_is_left(
    warehouse, tmp_path
):
    db_connection.connect().close()
    lock = lock_first_extract(warehouse)
    config = tmp_path / "waiter.cfg"
    config.write_text("[shared_backfill]\nwait_seconds = 3\npoll_seconds = 0.5\n")
    with start_luigid(tmp_path / "luigid", "[scheduler]\nworker_disconnect_delay = 3\n") as server:
        a, b = tmp_path / "a", tmp_path / "b"
        builder = range_machine(server.port, a)
        try:
            wait_running_first_extract(server.port, builder, a)
            waiter = range_machine(server.port, b, config)
            waiter.wait(timeout=600)
            errors = stderr_of(b)
            assert waiter.returncode == 30, errors[-3000:]  # [retcode] task_failed
            assert (
                "RangeHourly: 1 of 3 HourlyPipeline intervals not complete "
                "(2022-04-01T00 .. 2022-04-01T00): another worker still builds after 3 s"
            ) in errors
            assert "Traceback" not in errors
        finally:
            lock.close()
        assert builder.wait(timeout=600) == 0, stderr_of(a)[-3000:]
    db_connection.reset()
    assert graph.complete_hours(HOURS) == set(HOURS)


class Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def time(self) -> float:
        return self.now


def test_waiting_ends_when_the_hours_land_or_nobody_builds_them_or_at_the_bound():
    clock = Clock()

    def landing_after(polls: int):
        answers = iter([set()] * polls + [set(HOURS)])
        return lambda hours: next(answers)

    def wait(complete, active=lambda: True, bound=60.0):
        return wait_for_hours(
            HOURS,
            active,
            wait_seconds=bound,
            poll_seconds=5.0,
            complete=complete,
            sleep=clock.sleep,
            clock=clock.time,
        )

    assert wait(landing_after(3)) is True
    assert wait(lambda hours: set(HOURS[:1]), active=lambda: False) is False  # nobody builds
    assert wait(landing_after(1000)) is False  # the bound
    # Asked before the warehouse: a task that finished meanwhile is counted complete.
    assert wait(lambda hours: set(HOURS), active=lambda: False) is True
