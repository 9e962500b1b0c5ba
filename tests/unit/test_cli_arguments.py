"""Command-line arguments refused before any database work."""

from __future__ import annotations

import pytest

from playstudio_luigi.cli import main


@pytest.mark.parametrize("stop", ["2022-04-01T05", "2022-04-01T04"])
def test_a_backfill_without_a_whole_hour_is_refused_in_one_line(stop, monkeypatch):
    monkeypatch.setenv("PLAYSTUDIO_DSN", "postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "--start", "2022-04-01T05", "--stop", stop])
    assert str(exit_.value) == f"empty range: --start 2022-04-01T05 --stop {stop}"
