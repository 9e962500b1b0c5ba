"""Every ``bash`` block of the README, run as written in a fresh home (issue 16, item 8).

Each command line of a block either runs here, in README order, in one shell (so an
``export`` holds for the lines after it), from an empty directory with a fresh ``HOME``; or it
is listed below with the reason it does not and where it is proved instead. A new command
line that is neither fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BIN = Path(sys.executable).parent

# README command lines not run here (matched by how they begin): why, and what proves them.
NOT_RUN_HERE = {
    "python3 -m venv .venv && .venv/bin/pip install -q .": (
        "installs a virtualenv (what scripts/test.sh does); `playstudio-luigi demo` from an "
        "installed package: tests/e2e/test_cli.py::test_readme_main_command_..."
    ),
    "bash scripts/test.sh": "the test suite itself (.ci/run)",
    "pip install .": "what scripts/test.sh does into a fresh virtualenv",
    "python3 -m venv .venv && .venv/bin/pip install -e": "the development set-up",
    ".venv/bin/pytest": "the test suite itself",
    "PLAYSTUDIO_PROPERTY_EXAMPLES=": "the test suite with more examples",
    "PLAYSTUDIO_FAULT_": "the full reliability runs (.ci/run runs them reduced)",
    "PLAYSTUDIO_BOUNDS_": "the full resource-bounds run (.ci/run runs it reduced)",
    "playstudio-luigi backfill --start 2022-01-01T00 --stop 2023-01-01T00": (
        "a year of (empty) days; BENCHMARKS.md measures long backfills"
    ),
    "LUIGI_CONFIG_PATH=deploy/luigid.cfg luigid": "a system luigid (tests start their own)",
    "luigi --module playstudio_luigi Range": (
        "Luigi's range tools over the sample: tests/e2e/test_range_tools.py runs these "
        "lines as written"
    ),
    "luigi --module playstudio_luigi HourlyPipeline --hour 2022-04-01T22 --scheduler-host": (
        "needs the luigid above"
    ),
    "export PLAYSTUDIO_SLACK_WEBHOOK_URL": "Slack: tests/integration/test_alerts.py (fake webhook)",
    "PLAYSTUDIO_STRESS_": "the full change stress (.ci/run runs it reduced)",
    "python -m luigi.tools.deps_tree": (
        "from the checkout root: tests/e2e/test_checkout.py"
        "::test_deps_tree_runs_from_the_checkout_root"
    ),
    "pip install '.[luigid]'": "the luigid recipe: tests/e2e/test_luigid_recipe.py",
    "mkdir -p /var/lib/luigid": (
        "the luigid recipe, in directories of its own: tests/e2e/test_luigid_recipe.py"
    ),
}
# Backfills through a central scheduler need one at that host.
NOT_RUN_HERE_IF_CONTAINS = {"--scheduler-host": "needs a running luigid at that host"}


def bash_lines() -> list[str]:
    """The command lines of the README's ``bash`` blocks, in order."""
    blocks = re.findall(r"^ *```bash\n(.*?)^ *```", README.read_text(), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def why_not_run(line: str) -> str | None:
    for prefix, reason in NOT_RUN_HERE.items():
        if line.startswith(prefix):
            return reason
    for part, reason in NOT_RUN_HERE_IF_CONTAINS.items():
        if part in line:
            return reason
    return None


def test_every_readme_command_is_run_or_accounted_for():
    lines = bash_lines()
    assert len(lines) > 20, "the README's bash blocks were not found"
    runnable = [line for line in lines if why_not_run(line) is None]
    for line in runnable:
        assert line.startswith(
            ("playstudio-luigi ", "export PLAYSTUDIO_SOURCE=", "PLAYSTUDIO_SOURCE=")
        ), (
            f"README line neither run by test_readme_blocks_run_as_written nor listed in "
            f"NOT_RUN_HERE: {line}"
        )
    for line in runnable:  # placeholders and alternatives cannot run as written
        assert not re.search(r"…|\[--|\w\|\w", line.split("#")[0]), f"not runnable: {line}"


def test_readme_blocks_run_as_written(tmp_path: Path, embedded_server):
    home, work, elsewhere = tmp_path / "home", tmp_path / "work", tmp_path / "elsewhere"
    for folder in (home, work, elsewhere):
        folder.mkdir()
    embedded_server(home / ".playstudio")  # removed after the test, whatever happens
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    env.update({"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    script = "\n".join(
        [
            "set -eo pipefail",
            "trap 'echo \"README line failed: $BASH_COMMAND\" >&2' ERR",
            *(line for line in bash_lines() if why_not_run(line) is None),
        ]
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "gold.aggregated_final_table:" in result.stdout
    assert (work / "site" / "index.html").is_file()
    assert (work / "sample.xlsx").is_file()
    # the live-feed example: a folder of exports, loaded as far as the exports cover it
    assert len(list((work / "feed").rglob("*.*"))) == 39
    assert "waiting for the export: 2 of 4 hour(s) not loaded, 2023-01-01T02" in result.stderr
    assert not (work / ".playstudio").exists(), "the warehouse is the user's, not the folder's"
    assert (home / ".playstudio").is_dir()

    # The same warehouse from another directory, with nothing configured there.
    summary = [str(BIN / "playstudio-luigi"), "summary"]
    args = [*summary, "--start", "2022-04-01T00", "--stop", "2022-04-03T00"]
    here = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    there = subprocess.run(
        args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert here.returncode == there.returncode == 0, there.stderr[-2000:]
    assert there.stdout == here.stdout
    assert not (elsewhere / ".playstudio").exists()
