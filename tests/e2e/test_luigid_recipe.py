"""The README's central-scheduler recipe, line by line: luigid starts in the background with
task history, a cron-style run and a backfill go through it, and its history page lists them.

Run as written except three substitutions, so that a test never touches the machine's own
``/var/lib/luigid``, ``/var/log/luigid`` or port 8082: those directories live under the test's
directory (in ``deploy/luigid.cfg`` too), and the port is a free one. The ``pip install`` line
is this environment's own install (the ``test`` extra carries the ``luigid`` extra's pin).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from readme_commands import REPO, free_port, readme_block

from playstudio_luigi.intervals import hours_between
from playstudio_luigi.tasks import graph
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def recipe() -> list[str]:
    """The README's luigid block, one command a line (comments and the pip line left out)."""
    block = readme_block("bash", "luigid --background")
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    assert lines[0].startswith("pip install '.[luigid]'")
    return [line for line in lines[1:] if line]


def test_the_readme_luigid_recipe_starts_luigid_with_history(warehouse, tmp_path):
    root, port = tmp_path / "root", free_port()

    def as_here(text: str) -> str:
        for directory in ("/var/lib/luigid", "/var/log/luigid"):
            text = text.replace(directory, f"{root}{directory}")
        return text.replace("8082", str(port))

    (tmp_path / "deploy").mkdir()
    config = (REPO / "deploy" / "luigid.cfg").read_text()
    (tmp_path / "deploy" / "luigid.cfg").write_text(as_here(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUIGI_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PLAYSTUDIO_SOURCE=str(BUNDLED_SAMPLE),
        PLAYSTUDIO_HOME=str(tmp_path / "home"),
    )
    mkdir, start, hourly, backfill = (as_here(line) for line in recipe())
    pidfile = root / "var" / "lib" / "luigid" / "luigid.pid"

    def run(line: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", line],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    assert run(mkdir).returncode == 0
    try:
        assert run(start).returncode == 0  # it detaches: the history page says whether it runs
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/history", timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, _logs(root)
                time.sleep(0.5)
        for line in (hourly, backfill):
            result = run(line)
            assert result.returncode == 0, result.stderr[-3000:]
        with urllib.request.urlopen(f"http://localhost:{port}/history", timeout=30) as page:
            history = page.read().decode()
        assert "HourlyPipeline" in history and "DayPipeline" in history
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    hours = hours_between(datetime(2022, 4, 1), datetime(2022, 4, 3))  # the backfill line's
    assert graph.complete_hours(hours) == set(hours)
    assert (root / "var" / "lib" / "luigid" / "history.db").exists()


def _logs(root: Path) -> str:
    logs = root / "var" / "log" / "luigid"
    found = sorted(logs.glob("*")) if logs.exists() else []
    return "luigid did not answer: " + " | ".join(p.read_text()[-1000:] for p in found)
