"""The package's structure rules (scripts/check_structure.py), on the real tree and on
trees made to break them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_structure.py"


@pytest.fixture(scope="module")
def structure():
    spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_cycle_and_a_thin_cli(structure):
    assert structure.problems() == []


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "playstudio_luigi" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "playstudio_luigi"


def test_a_cycle_hidden_in_a_function_is_found(structure, tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "cli.py": "from playstudio_luigi.ops import run\n",
            "ops/__init__.py": "",
            "ops/run.py": "def run():\n    from playstudio_luigi.cli import helper\n",
        },
    )
    found = structure.problems(root)
    assert any("import cycle" in problem and "playstudio_luigi.cli" in problem for problem in found)


def test_a_function_level_import_in_the_cli_is_found(structure, tmp_path):
    root = _package(
        tmp_path,
        {"__init__.py": "", "cli.py": "def main():\n    import json\n    return json\n"},
    )
    assert structure.problems(root) == [
        "playstudio_luigi/cli.py:2: import json imports inside a function"
    ]


def test_a_package_reexporting_its_submodules_is_not_a_cycle(structure, tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "from playstudio_luigi.tasks.gold import Gold\n",
            "cli.py": "",
            "tasks/__init__.py": "",
            "tasks/gold.py": "from playstudio_luigi import config\nclass Gold: ...\n",
            "config.py": "",
        },
    )
    assert structure.problems(root) == []


def test_the_documented_command_passes_on_the_package():
    """README: ``python scripts/check_structure.py``, from the repository root."""
    result = subprocess.run(
        [sys.executable, "scripts/check_structure.py"],
        cwd=SCRIPT.parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert "no import cycle among" in result.stdout
