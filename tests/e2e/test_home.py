"""One warehouse per user, not per directory (issue 16, item 7; DESIGN section 8).

The commands run in subprocesses with a fresh ``HOME`` and none of our variables, as a new
user would type them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from playstudio_luigi.db.embedded import SYSTEM_ROOT
from playstudio_luigi.db.embedded.datadir import home_hash
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CLI = str(Path(sys.executable).parent / "playstudio-luigi")
RANGE = ["--start", "2022-04-01T22", "--stop", "2022-04-01T23"]
READ_ONLY = {
    "status": ["status", *RANGE],
    "summary": ["summary", *RANGE],
    "checks": ["checks", "--since", "24h"],
    "docs": ["docs", "--out", "site"],
}


@pytest.fixture
def user(tmp_path: Path, embedded_server) -> tuple[dict[str, str], Path]:
    """A new user's environment (``HOME`` of its own) and an empty working directory. Any
    server a command starts (in the user's home or, wrongly, in the directory) is removed."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    embedded_server(home / ".playstudio")
    embedded_server(work / ".playstudio")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    return {**env, "HOME": str(home)}, work


def cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _nothing_made_for(home: Path) -> None:
    assert not home.exists(), f"{home} was created"
    assert not (SYSTEM_ROOT / "data" / home_hash(home.resolve())).exists()


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_commands_never_create_a_warehouse(user, command: str):
    env, work = user
    home = Path(env["HOME"]) / ".playstudio"
    result = cli(READ_ONLY[command], work, env)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"no warehouse in {home} yet (nothing was created)" in result.stderr
    assert "playstudio-luigi demo" in result.stderr  # and how to make one
    assert "Traceback" not in result.stderr
    _nothing_made_for(home)
    _nothing_made_for(work / ".playstudio")


def test_one_warehouse_whatever_the_working_directory(user, tmp_path: Path):
    env, work = user
    env = {**env, "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE)}
    loaded = cli(["backfill", *RANGE], work, env)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    summary = cli(["summary", *RANGE], elsewhere, env)
    assert summary.returncode == 0, summary.stderr[-2000:]
    rows = next(line for line in summary.stdout.splitlines() if "aggregated_final_table" in line)
    assert int(rows.split(": ", 1)[1].split()[0].replace(",", "")) > 0, summary.stdout
    assert (Path(env["HOME"]) / ".playstudio").is_dir()
    assert not (work / ".playstudio").exists() and not (elsewhere / ".playstudio").exists()


def test_an_existing_playstudio_directory_is_used_and_said_once(user):
    env, work = user
    legacy = work / ".playstudio"
    legacy.mkdir()  # made by an earlier release, which kept its warehouse per directory
    first, second = (cli(READ_ONLY["summary"], work, env) for _ in range(2))
    for result in (first, second):
        assert f"no warehouse in {legacy} yet" in result.stderr, result.stderr[-2000:]
    notice = f"using the warehouse in {legacy} (found in the working directory)"
    assert notice in first.stderr
    assert notice not in second.stderr
    _nothing_made_for(Path(env["HOME"]) / ".playstudio")
