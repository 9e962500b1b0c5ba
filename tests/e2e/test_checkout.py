"""From a checkout: after a plain (not editable) ``pip install .``, Python started in the
repository root imports the source tree, not the installed copy. The README's library snippet
and ``python -m luigi.tools.deps_tree`` must work there too (the SQL templates included)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from readme_commands import REPO, readme_block, readme_line

from playstudio_luigi.db.connection import connect
from playstudio_luigi.testing import table_rows
from playstudio_luigi.testing.sample import BUNDLED_SAMPLE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

IGNORED = shutil.ignore_patterns(
    ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".playstudio", ".pytest_cache"
)


@pytest.fixture(scope="module")
def installed_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a copy of the checkout, the Python of a fresh virtualenv where ``pip install .`` was
    run from it). The virtualenv finds the dependencies in this one's site-packages (a path in
    a ``.pth`` file: none of its ``.pth`` files, so not this checkout's editable finder)."""
    root = tmp_path_factory.mktemp("checkout")
    checkout = root / "playstudio"
    shutil.copytree(REPO, checkout, symlinks=True, ignore=IGNORED)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (target / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "."],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return checkout, python


def _env(warehouse: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYSTUDIO_", "LUIGI_"))}
    env.pop("PYTHONPATH", None)
    return {
        **env,
        "PLAYSTUDIO_DSN": warehouse,
        "PLAYSTUDIO_SOURCE": str(BUNDLED_SAMPLE),
        "PLAYSTUDIO_HOME": str(tmp_path / "home"),
    }


def test_library_snippet_runs_from_the_checkout_root(installed_checkout, warehouse, tmp_path):
    checkout, python = installed_checkout
    snippet = readme_block("python", "luigi.build(")
    result = subprocess.run(
        [str(python), "-c", snippet],
        cwd=checkout,
        env=_env(warehouse, tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "No module named" not in result.stderr
    connection = connect()
    try:
        gold = table_rows(connection, "gold.aggregated_final_table", ["app_hour"])
    finally:
        connection.close()
    assert gold and {hour for (hour,) in gold} == {datetime(2022, 4, 1, 22)}


def test_deps_tree_runs_from_the_checkout_root(installed_checkout, warehouse, tmp_path):
    checkout, python = installed_checkout
    command = readme_line("bash", "deps_tree").split()
    assert command[0] == "python"
    result = subprocess.run(
        [str(python), *command[1:]],
        cwd=checkout,
        env=_env(warehouse, tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GoldAggregate-{'hour': '2022-04-01T22'}" in result.stdout
    assert "ExtractPurchases-{'interval': '2022-04-01T2255'}" in result.stdout
