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


@pytest.mark.parametrize(
    "hour", ["2022-04-01T2", "2022-04-01T221", "2022-4-01T22", "2022-04-01T25"]
)
def test_a_malformed_hour_is_one_line_naming_the_form(hour, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["status", "--start", hour, "--stop", "2022-04-02T00"])
    assert exit_.value.code == 2
    assert f"{hour!r} is not an hour like 2022-04-01T22" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "hour"),
    [
        ("2022-04-01T22", "2022-04-01 22:00"),
        ("2022-04-01", "2022-04-01 00:00"),
        ("2022-04-01T2205", "2022-04-01 22:05"),
    ],
)
def test_the_documented_forms_parse(text, hour):
    from playstudio_luigi.cli import parse_hour

    assert f"{parse_hour(text):%Y-%m-%d %H:%M}" == hour
