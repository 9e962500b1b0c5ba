"""The sample as a feed (testing.sample.write_feed): the workbook's rows split into export files
of every format, one per period, each with the mtime of its export."""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from playstudio_luigi.source.formats import read_export, sheet_kinds
from playstudio_luigi.source.reader import read_sheet
from playstudio_luigi.source.schema import LAYOUTS, PURCHASES, SPINS
from playstudio_luigi.testing.sample import (
    EXPORT_DELAY,
    TEMPLATE_NOTE,
    SampleSpec,
    main,
    write_feed,
    write_sample,
)

SPEC = SampleSpec(purchases=150, hours=4, users=8, padding_rows=3)
FIELDS = {kind: layout.fields for kind, layout in LAYOUTS.items()}


def contents(table, kind: str) -> list[tuple]:
    return sorted(tuple(row[f] for f in FIELDS[kind]) for row in table.to_pylist())


def period_of(path: Path, files_per: str) -> tuple[str, datetime, datetime]:
    """(name, start, end) of the period a feed file covers, from its name."""
    name, stamp = path.stem.split("-", 1)
    start = datetime.strptime(stamp, "%Y-%m-%dT%H%M")
    width = (
        timedelta(minutes=5) if name == "purchases" and files_per == "5min" else timedelta(hours=1)
    )
    return name, start, start + width


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    path = write_sample(tmp_path_factory.mktemp("book") / "book.xlsx", SPEC).path
    return {kind: contents(read_sheet(path, layout), kind) for kind, layout in LAYOUTS.items()}


FEEDS = {
    "5min, every format": ("5min", ("csv", "parquet", "xlsx"), False),
    "hourly, workbooks of both sheets": ("hour", ("xlsx", "csv", "parquet"), True),
    "hourly parquet": ("hour", ("parquet",), False),
}


@pytest.mark.parametrize("feed", FEEDS)
def test_the_feed_holds_exactly_the_workbooks_rows_each_in_its_period(
    tmp_path: Path, workbook: dict[str, list[tuple]], feed: str
):
    files_per, formats, both_sheets = FEEDS[feed]
    paths = write_feed(
        tmp_path / "feed", SPEC, files_per=files_per, formats=formats, both_sheets=both_sheets
    )
    found: dict[str, list[tuple]] = {kind: [] for kind in LAYOUTS}
    for path in paths:
        name, start, end = period_of(path, files_per)
        kinds = sheet_kinds(path)
        assert kinds == (["purchases", "spins"] if name == "export" else [name])
        for kind in kinds:
            table = read_export(path, LAYOUTS[kind])
            assert table["cell_errors"].null_count == table.num_rows, path
            assert all(start <= moment < end for moment in table["event_time"].to_pylist()), path
            found[kind] += contents(table, kind)
    assert {kind: sorted(rows) for kind, rows in found.items()} == workbook
    assert {path.suffix for path in paths} == {f".{fmt}" for fmt in formats}


def test_every_period_has_its_file_written_when_the_period_is_over(tmp_path: Path):
    formats = ("csv", "parquet", "xlsx")
    paths = write_feed(tmp_path, SPEC, files_per="5min", formats=formats)
    assert len(paths) == SPEC.hours * 12 + SPEC.hours  # purchases every 5 minutes, spins hourly
    assert [p.suffix[1:] for p in paths] == list(
        itertools.islice(itertools.cycle(formats), len(paths))
    )
    exports = []
    for path in paths:
        _name, start, end = period_of(path, "5min")
        assert path.parent == tmp_path / f"{start:%Y-%m-%d}"
        mtime = datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(tzinfo=None)
        assert mtime == end + EXPORT_DELAY
        exports.append(mtime)
    assert exports == sorted(exports)  # returned in export order
    starts = sorted(period_of(p, "5min")[1] for p in paths if p.name.startswith("purchases-"))
    assert starts == [SPEC.start + timedelta(minutes=5 * i) for i in range(SPEC.hours * 12)]
    assert not list(tmp_path.rglob(".*"))  # no temporary file left


def test_an_empty_period_is_a_file_with_only_its_header(tmp_path: Path):
    sparse = SampleSpec(purchases=1, hours=2, users=1, spins_per_purchase=0, padding_rows=0)
    paths = write_feed(tmp_path, sparse, files_per="5min", formats=("csv", "parquet", "xlsx"))
    empty = [p for p in paths if p.name.startswith("purchases-") and not read_export(p, PURCHASES)]
    assert len(empty) == 2 * 12 - 1  # one purchase: every other 5 minutes are empty
    assert {p.suffix for p in empty} == {".csv", ".parquet", ".xlsx"}
    assert all(sheet_kinds(p) == ["purchases"] for p in empty)
    csv_file = next(p for p in empty if p.suffix == ".csv")
    assert csv_file.read_text() == "date,userId,revenue,transaction_id\n"


def test_csv_rows_point_at_their_records(tmp_path: Path):
    paths = write_feed(tmp_path, SPEC, files_per="hour", formats=("csv",))
    checked = 0
    for path in paths:
        with open(path, newline="", encoding="utf-8") as stream:
            records = list(csv.reader(stream))
        (kind,) = sheet_kinds(path)
        layout = LAYOUTS[kind]
        for row in read_export(path, layout).to_pylist():
            record = records[row["source_row"] - 1]
            assert datetime.fromisoformat(record[0]) == row["event_time"]
            assert record[1:4] == [row[f] for f in layout.fields[1:]]
            checked += 1
    assert checked > SPEC.purchases


def test_workbooks_of_the_feed_keep_the_template_note_and_padding(tmp_path: Path):
    paths = write_feed(tmp_path, SPEC, files_per="hour", formats=("xlsx",))
    spins = [p for p in paths if p.name.startswith("spins-")]
    first = read_export(spins[0], SPINS)
    assert first.num_rows > 0
    book = openpyxl.load_workbook(spins[0], read_only=True)
    try:
        values = [tuple(c.value for c in row) for row in book["Spins Hourly"].iter_rows()]
    finally:
        book.close()
    assert values[1][-1] == TEMPLATE_NOTE
    assert len(values) == 1 + first.num_rows + SPEC.padding_rows
    notes = [read_export(p, SPINS).num_rows for p in spins[1:]]
    assert sum(notes) + first.num_rows == len(
        read_sheet(write_sample(tmp_path / "b.xlsx", SPEC).path, SPINS)
    )


def test_the_same_spec_gives_the_same_files(tmp_path: Path):
    def digests(out: Path) -> list[tuple[str, str]]:
        paths = write_feed(out, SPEC, files_per="5min", formats=("xlsx", "csv", "parquet"))
        return [
            (p.relative_to(out).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in paths
        ]

    assert digests(tmp_path / "a") == digests(tmp_path / "b")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"files_per": "day"}, "files_per must be one of hour, 5min"),
        ({"formats": ()}, "formats must be a non-empty list"),
        ({"formats": ("csv", "json")}, "unknown: json"),
        ({"files_per": "5min", "both_sheets": True}, "both_sheets needs hourly files"),
    ],
)
def test_invalid_feed_options_write_nothing(tmp_path: Path, options: dict, message: str):
    with pytest.raises(ValueError, match=message):
        write_feed(tmp_path / "feed", SPEC, **options)
    assert not (tmp_path / "feed").exists()


def test_command_line_writes_a_feed(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "feed"
    args = ["--purchases", "60", "--hours", "2", "--users", "4", "--seed", "3"]
    assert main(["--out", str(out), "--files-per", "5min", "--formats", "csv,parquet", *args]) == 0
    printed = capsys.readouterr().out
    assert f"wrote 26 export files to {out} (13 .csv, 13 .parquet)" in printed
    expected = write_feed(
        tmp_path / "api",
        SampleSpec(purchases=60, hours=2, users=4, seed=3),
        files_per="5min",
        formats=("csv", "parquet"),
    )
    assert sorted(p.relative_to(out) for p in out.rglob("*.*")) == sorted(
        p.relative_to(tmp_path / "api") for p in expected
    )
    assert main(["--out", str(tmp_path / "x.xlsx"), "--formats", "csv"]) == 2
    assert "need --files-per" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["--out", str(tmp_path / "file"), "--files-per", "hour"]) == 2
    assert "a feed is written to a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(out), "--files-per", "hour", "--formats", "csv,json"])
