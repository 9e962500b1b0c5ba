"""A real luigid for tests: started on a free port, answering, stopped afterwards."""

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
from dataclasses import dataclass
from pathlib import Path

from readme_commands import free_port

#: Notice a dead worker and retry its task within seconds (production: deploy/luigid.cfg).
FAST_RETRIES = "[scheduler]\nworker_disconnect_delay = 3\nretry_delay = 1\n"


@dataclass
class Luigid:
    """A running luigid: its port, process and directory (state, logs, stdout)."""

    port: int
    process: subprocess.Popen
    home: Path

    def api(self, method: str, data: dict) -> dict:
        return api(self.port, method, data)


@contextmanager
def start_luigid(where: Path, scheduler_config: str = FAST_RETRIES) -> Iterator[Luigid]:
    """A central scheduler with its state, logs and stdout under ``where``, on a free port,
    configured with ``scheduler_config`` (empty: luigid's defaults); fails (not skips) if it
    cannot start."""
    where.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = where / "luigid.cfg"
    config.write_text(scheduler_config)
    with open(where / "stdout.log", "w") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "luigid"),
                "--port",
                str(port),
                "--state-path",
                str(where / "state.pickle"),
                "--logdir",
                str(where),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LUIGI_CONFIG_PATH": str(config)},
            cwd=where,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                api(port, "task_list", {})
                break
            except OSError:
                assert process.poll() is None, "luigid exited at start"
                assert time.monotonic() < deadline, "luigid did not answer within 30 s"
                time.sleep(0.2)
        yield Luigid(port, process, where)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def api(port: int, method: str, data: dict) -> dict:
    """Call luigid's JSON API."""
    query = urllib.parse.quote(json.dumps(data))
    url = f"http://127.0.0.1:{port}/api/{method}?data={query}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.load(reply)["response"]


def task_list(port: int, status: str) -> dict:
    return api(port, "task_list", {"status": status, "upstream_status": "", "search": ""})
