"""A real central scheduler (luigid) for a test: on a free port, stopped afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from readme_commands import free_port


@contextmanager
def running_luigid(home: Path, config: str = "") -> Iterator[int]:
    """luigid with ``config`` as its luigi.cfg and its state under ``home``; yields the port.
    Fails (never skips) when it does not answer."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "luigid.cfg").write_text(config)
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "luigid"),
            "--port",
            str(port),
            "--state-path",
            str(home / "state.pickle"),
            "--logdir",
            str(home),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LUIGI_CONFIG_PATH": str(home / "luigid.cfg")},
        cwd=home,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                api(port, "task_list", {})
                break
            except OSError:
                assert process.poll() is None, "luigid exited at start"
                assert time.monotonic() < deadline, "luigid did not answer within 60 s"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def api(port: int, method: str, data: dict) -> dict:
    """luigid's JSON API: ``method`` with ``data``; the response."""
    query = urllib.parse.quote(json.dumps(data))
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/{method}?data={query}", timeout=10
    ) as reply:
        return json.load(reply)["response"]


def tasks_in(port: int, status: str) -> dict:
    """luigid's tasks in ``status`` (``RUNNING``, ``DONE``, ...), by task id."""
    return api(port, "task_list", {"status": status, "upstream_status": "", "search": ""})
