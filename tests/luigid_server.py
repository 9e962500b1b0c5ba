"""A real luigid for tests: started on a free port, answering, stopped afterwards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def start_luigid(where: Path) -> Iterator[int]:
    """A central scheduler with its state under ``where``, on a free port; fails (not skips)
    if it cannot start. It notices a dead worker and retries its task within seconds
    (production settings: deploy/luigid.cfg)."""
    where.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = where / "luigid.cfg"
    config.write_text("[scheduler]\nworker_disconnect_delay = 3\nretry_delay = 1\n")
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        yield port
    finally:
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
