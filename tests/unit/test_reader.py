"""The workbook reader: header matching, row numbers, and no cell lost without a trace."""

from __future__ import annotations

from datetime import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from source_rows import tx

from playstudio_luigi.source.reader import SourceFormatError, read_sheet
from playstudio_luigi.source.schema import PURCHASES, SPINS, normalize_header
from playstudio_luigi.testing import write_workbook

UUID = tx(1)


def test_normalize_header():
    assert normalize_header("  Total   Daily\tRevenue ") == "total daily revenue"
    assert normalize_header("USERID") == normalize_header("userId")


def test_headers_match_case_and_whitespace_insensitively(tmp_path: Path):
    path = write_workbook(
        tmp_path / "w.xlsx",
        purchases=[(dt(2022, 4, 1, 22, 0, 1), "U1", "PriceInUSD=1.00", UUID, "extra")],
        purchase_header=(" DATE", "userid ", "Revenue", "Transaction_ID", "Unknown Extra"),
        sheets=("purchases", "Spins Hourly"),
    )
    table = read_sheet(path, PURCHASES)
    assert table.column_names == [
        "source_row",
        "event_time",
        "user_id",
        "revenue",
        "transaction_id",
        "cell_errors",
    ]
    assert table.to_pylist() == [
        {
            "source_row": 2,
            "event_time": dt(2022, 4, 1, 22, 0, 1),
            "user_id": "U1",
            "revenue": "PriceInUSD=1.00",
            "transaction_id": UUID,
            "cell_errors": None,
        }
    ]


def test_missing_column_names_file_sheet_and_column(tmp_path: Path):
    path = write_workbook(
        tmp_path / "w.xlsx", purchase_header=("date", "userId", "revenue"), purchases=[]
    )
    with pytest.raises(
        SourceFormatError, match=r"w\.xlsx: sheet 'Purchases' has no column 'transaction_id'"
    ):
        read_sheet(path, PURCHASES)


def test_missing_sheet_is_named(tmp_path: Path):
    path = write_workbook(tmp_path / "w.xlsx", sheets=("Purchases", ""))
    with pytest.raises(
        SourceFormatError, match=r"sheet 'Spins Hourly' not found \(sheets: Purchases\)"
    ):
        read_sheet(path, SPINS)


def test_unreadable_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "not-a-workbook.xlsx"
    path.write_bytes(b"date,userId\n2022-04-01,U1\n")
    with pytest.raises(SourceFormatError, match=r"not-a-workbook\.xlsx: cannot be read"):
        read_sheet(path, PURCHASES)


def test_bad_cells_are_kept_with_row_and_reason(tmp_path: Path):
    path = write_workbook(
        tmp_path / "w.xlsx",
        spins=[
            (dt(2022, 4, 1, 22), "U1", "US", 12.5),
            ("2022-04-01 22:00", "U2", "US", "many"),  # text date, text spins
            (dt(2022, 4, 1, 22), 12345, "CA", 1),  # numeric user id stays as text
        ],
    )
    rows = read_sheet(path, SPINS).to_pylist()
    assert [r["source_row"] for r in rows] == [2, 3, 4]
    assert rows[0]["total_spins"] == "12.5"
    assert rows[1]["event_time"] is None
    assert rows[1]["total_spins"] == "many"  # kept as text: validation rejects it with the value
    assert "date: expected an Excel datetime" in rows[1]["cell_errors"]
    assert "2022-04-01 22:00" in rows[1]["cell_errors"]
    assert rows[2]["user_id"] == "12345"


def test_padding_and_notes_are_not_data_and_row_numbers_are_excel_rows(tmp_path: Path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Spins Hourly"
    sheet.append([None])  # two empty rows above the header
    sheet.append([None])
    sheet.append(["date", "userId", "country", "total_spins", "Total Daily Revenue"])
    sheet.append([dt(2022, 4, 1, 22), "U1", "US", 3, None])
    for _ in range(50):
        sheet.append(["", "", "", "", ""])  # padding
    sheet.append([None, None, None, None, "note: filled by BI"])
    sheet.append([dt(2022, 4, 1, 23), "U2", "CA", 4, None])
    workbook.save(tmp_path / "w.xlsx")
    rows = read_sheet(tmp_path / "w.xlsx", SPINS).to_pylist()
    assert [(r["source_row"], r["user_id"]) for r in rows] == [(4, "U1"), (56, "U2")]


def test_sub_second_noise_rounds_to_the_second_but_real_fractions_are_errors(tmp_path: Path):
    path = write_workbook(
        tmp_path / "w.xlsx",
        purchases=[
            (dt(2022, 4, 1, 22, 4, 59, 999000), "U1", "PriceInUSD=1.00", UUID),
            (dt(2022, 4, 1, 22, 4, 59, 600000), "U1", "PriceInUSD=1.00", UUID),
        ],
    )
    rows = read_sheet(path, PURCHASES).to_pylist()
    assert rows[0]["event_time"] == dt(2022, 4, 1, 22, 5, 0)
    assert rows[0]["cell_errors"] is None
    assert rows[1]["cell_errors"] == "date: 2022-04-01 22:04:59.600000 is not a whole second"


def test_a_stray_cell_far_away_is_refused_before_the_reader_allocates_it(tmp_path: Path):
    path = write_workbook(tmp_path / "w.xlsx", [(dt(2022, 4, 1, 22), "U1", "PriceInUSD=1", UUID)])
    workbook = openpyxl.load_workbook(path)
    workbook["Purchases"].cell(row=1_048_576, column=16_384).value = "stray"
    workbook.save(path)
    # Without the bound, the reader asks for 512 GiB and aborts the whole process.
    with pytest.raises(
        SourceFormatError,
        match=r"w\.xlsx: sheet 'Purchases' uses 1,048,576 rows x 16,384 columns .* above the bound",
    ):
        read_sheet(path, PURCHASES)


def test_bounds_measure_the_used_area(tmp_path: Path):
    from playstudio_luigi.source.bounds import MAX_SHEET_CELLS, check_sheet_bounds, column_number

    assert [column_number(c) for c in ("A", "Z", "AA", "AB", "XFD")] == [1, 26, 27, 28, 16384]
    path = write_workbook(tmp_path / "w.xlsx", [(dt(2022, 4, 1, 22), "U1", "PriceInUSD=1", UUID)])
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Purchases"]
    sheet.cell(row=MAX_SHEET_CELLS // 28, column=28).value = "within the bound"
    workbook.save(path)
    check_sheet_bounds(path, "Purchases")
    sheet.cell(row=MAX_SHEET_CELLS // 28 + 1, column=28).value = "one row too far"
    workbook.save(path)
    with pytest.raises(ValueError, match="above the bound"):
        check_sheet_bounds(path, "Purchases")
