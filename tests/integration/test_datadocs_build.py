"""The data docs build on an empty warehouse too (no data is a state worth showing)."""

from __future__ import annotations

from datetime import datetime

import pytest

from playstudio_luigi.cli import main
from playstudio_luigi.datadocs import build_site
from playstudio_luigi.datadocs.site import PAGES

pytestmark = pytest.mark.integration


def test_empty_warehouse_builds_every_page(db, tmp_path):
    pages = build_site(tmp_path / "site", datetime(2022, 4, 1, 22), datetime(2022, 4, 2, 2), db)
    assert [page.name for page in pages] == [name for name, _ in PAGES]
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'data-metric="revenue" data-value="0"' in index
    coverage = (tmp_path / "site" / "coverage.html").read_text()
    assert coverage.count('data-state="missing"') == 5 * 4  # five families, four hours
    assert "No row was quarantined." in (tmp_path / "site" / "quality.html").read_text()


def test_command_says_when_nothing_is_loaded(warehouse, tmp_path, capsys):
    assert main(["docs", "--out", str(tmp_path / "site")]) == 1
    assert "nothing loaded yet" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="both --start and --stop"):
        main(["docs", "--out", str(tmp_path / "site"), "--start", "2022-04-01T22"])
