"""The commands the README and ``deploy/`` document, read from those files so that tests run
them as written."""

from __future__ import annotations

import re
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_block(language: str, containing: str) -> str:
    """The README's first fenced ``language`` block that contains ``containing``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    return next(block for block in blocks if containing in block)


def readme_line(language: str, containing: str) -> str:
    """The command of the README line containing ``containing`` (its comment cut off)."""
    line = next(
        line for line in readme_block(language, containing).splitlines() if containing in line
    )
    return re.split(r"\s+#\s", line, maxsplit=1)[0].strip()


def crontab_command(containing: str) -> str:
    """The command of the ``deploy/crontab`` entry containing ``containing``, as cron hands it
    to the shell (the five time fields dropped, ``\\%`` unescaped)."""
    entry = next(
        line
        for line in (REPO / "deploy" / "crontab").read_text().splitlines()
        if containing in line and not line.startswith("#")
    )
    return entry.split(None, 5)[5].replace("\\%", "%")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
