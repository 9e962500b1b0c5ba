"""Export files of every format (source/formats.py): which sheet a file holds, its rows as text
with the row a user finds them at, dates to the second, and one clear error per bad file."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from source_rows import tx

from playstudio_luigi.source import formats
from playstudio_luigi.source.formats import (
    MAX_CSV_RECORD_BYTES,
    SUPPORTED_SUFFIXES,
    read_export,
    sheet_kinds,
)
from playstudio_luigi.source.reader import SourceFormatError, extract_schema
from playstudio_luigi.source.schema import PURCHASES, SPINS
from playstudio_luigi.testing import write_workbook

PURCHASES_CSV_HEADER = "date,userId,revenue,transaction_id\n"
SPINS_CSV_HEADER = "date,userId,country,total_spins,total revenue,Total Daily Revenue\n"


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_parquet(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def rows(table: pa.Table, *fields: str) -> list[tuple]:
    return [tuple(row[f] for f in fields) for row in table.to_pylist()]


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".xlsx", ".csv", ".parquet")


# --- which sheet a file holds ------------------------------------------------------------------


def test_csv_and_parquet_hold_the_sheet_their_header_names(tmp_path: Path):
    purchases = write_csv(tmp_path / "p.csv", " DATE ,UserID,Revenue,Transaction_ID,extra\n")
    spins = write_csv(tmp_path / "s.CSV", SPINS_CSV_HEADER)
    parquet = write_parquet(
        tmp_path / "s.parquet",
        {name: pa.array([], pa.string()) for name in ("date", "userId", "country", "total_spins")},
    )
    assert sheet_kinds(purchases) == ["purchases"]
    assert sheet_kinds(spins) == ["spins"]
    assert sheet_kinds(parquet) == ["spins"]
    assert sheet_kinds(purchases, data=spins.read_bytes()) == ["spins"]  # the bytes decide


def test_xlsx_holds_the_sheets_it_has_by_name(tmp_path: Path):
    both = write_workbook(tmp_path / "both.xlsx")
    only_spins = write_workbook(tmp_path / "spins.xlsx", sheets=("", " spins   HOURLY"))
    assert sheet_kinds(both) == ["purchases", "spins"]
    assert sheet_kinds(only_spins) == ["spins"]
    neither = write_workbook(tmp_path / "neither.xlsx", sheets=("Sheet1", ""))
    with pytest.raises(
        SourceFormatError, match=r"neither\.xlsx: no sheet 'Purchases' or 'Spins Hourly'.*Sheet1"
    ):
        sheet_kinds(neither)


def test_a_header_of_neither_sheet_is_an_error_naming_the_file_and_header(tmp_path: Path):
    path = write_csv(tmp_path / "odd.csv", "date,userId,amount\n2022-04-01 22:00:00,U1,3\n")
    with pytest.raises(SourceFormatError) as error:
        sheet_kinds(path)
    message = str(error.value)
    assert "odd.csv: the header row is not that of a sheet" in message
    assert "Purchases: no column 'revenue', 'transaction_id'" in message
    assert "header row: 'date', 'userId', 'amount'" in message
    assert "\n" not in message


def test_a_header_of_both_sheets_is_an_error(tmp_path: Path):
    path = write_csv(
        tmp_path / "both.csv", "date,userId,revenue,transaction_id,country,total_spins\n"
    )
    with pytest.raises(SourceFormatError, match=r"both\.csv: .*columns of every sheet"):
        sheet_kinds(path)


def test_reading_the_other_sheet_of_a_file_is_an_error(tmp_path: Path):
    path = write_csv(tmp_path / "p.csv", PURCHASES_CSV_HEADER)
    with pytest.raises(SourceFormatError, match=r"p\.csv: holds Purchases rows, not Spins Hourly"):
        read_export(path, SPINS)


def test_two_columns_matching_one_header_is_an_error(tmp_path: Path):
    path = write_csv(tmp_path / "p.csv", "date,userId,revenue,transaction_id,User ID ,USERID\n")
    with pytest.raises(SourceFormatError, match=r"p\.csv: several columns .* match 'userId'"):
        read_export(path, PURCHASES)


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_cells_stay_text_exactly_as_exported(tmp_path: Path):
    path = write_csv(
        tmp_path / "p.csv",
        "transaction_id,extra,Revenue,extra,userId,date\n"
        f"{tx(1)},x,PriceInUSD=4.99,y,007,2022-04-01 22:53:05\n"
        f'{tx(2)},,"PriceInUSD=1,00",, U2 ,2022-04-01T22:53:06\n'
        f"{tx(3)},,1e5,,00012345,2022-04-01 22:53:07\n",
    )
    table = read_export(path, PURCHASES)
    assert table.schema == extract_schema(PURCHASES)
    assert table.to_pylist() == [
        {
            "source_row": 2,
            "event_time": dt(2022, 4, 1, 22, 53, 5),
            "user_id": "007",
            "revenue": "PriceInUSD=4.99",
            "transaction_id": tx(1),
            "cell_errors": None,
        },
        {
            "source_row": 3,
            "event_time": dt(2022, 4, 1, 22, 53, 6),
            "user_id": " U2 ",  # as the workbook reader keeps it: validation trims
            "revenue": "PriceInUSD=1,00",
            "transaction_id": tx(2),
            "cell_errors": None,
        },
        {
            "source_row": 4,
            "event_time": dt(2022, 4, 1, 22, 53, 7),
            "user_id": "00012345",
            "revenue": "1e5",
            "transaction_id": tx(3),
            "cell_errors": None,
        },
    ]


def test_csv_spins_stay_text(tmp_path: Path):
    path = write_csv(
        tmp_path / "s.csv",
        SPINS_CSV_HEADER + "2022-04-01 22:00:00,U1,US,3.5,,to be filled by BI\n"
        "2022-04-01 22:00:00,U2,CA,0012,,\n"
        "2022-04-01 22:00:00,U3,GB,many,,\n",
    )
    assert rows(read_export(path, SPINS), "source_row", "total_spins") == [
        (2, "3.5"),
        (3, "0012"),
        (4, "many"),  # kept: validation rejects it with the value and the row
    ]


def test_csv_row_numbers_count_every_record_as_a_spreadsheet_shows_them(tmp_path: Path):
    text = (
        "\ufeffdate,userId,revenue,transaction_id\r\n"  # Excel's "CSV UTF-8": a BOM, CRLF
        f"2022-04-01 22:00:01,U1,PriceInUSD=1.00,{tx(1)}\r\n"
        "\r\n"  # an empty line: a record of its own
        f'2022-04-01 22:00:02,"two\r\nlines",PriceInUSD=1.00,{tx(2)}\r\n'  # one record
        ",,,\r\n"  # padding
        "  ,\t, , \r\n"  # whitespace only: padding too
        f"2022-04-01 22:00:03,U3,PriceInUSD=1.00,{tx(3)}"  # no final line break
    )
    path = write_csv(tmp_path / "p.csv", text)
    table = read_export(path, PURCHASES)
    assert rows(table, "source_row", "user_id") == [(2, "U1"), (4, "two\r\nlines"), (7, "U3")]
    # The same records, as any CSV reader (and a spreadsheet) numbers them.
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    for row in table.to_pylist():
        assert records[row["source_row"] - 1][1] == row["user_id"]
        assert records[row["source_row"] - 1][3] == row["transaction_id"]


def test_a_csv_of_only_its_header_is_an_empty_table(tmp_path: Path):
    for name, text in (("a.csv", PURCHASES_CSV_HEADER), ("b.csv", PURCHASES_CSV_HEADER[:-1])):
        table = read_export(write_csv(tmp_path / name, text), PURCHASES)
        assert table.num_rows == 0 and table.schema == extract_schema(PURCHASES)


def test_csv_dates_parse_to_whole_seconds_or_are_cell_errors(tmp_path: Path):
    dates = [
        ("2022-04-01 22:53:05", dt(2022, 4, 1, 22, 53, 5), None),
        ("2022-04-01T22:53:05", dt(2022, 4, 1, 22, 53, 5), None),
        ("  2022-04-01 22:53:05 ", dt(2022, 4, 1, 22, 53, 5), None),
        ("2022-04-01 22:53:05.000", dt(2022, 4, 1, 22, 53, 5), None),
        ("2022-04-01T22:53:05Z", dt(2022, 4, 1, 22, 53, 5), None),
        ("2022-04-01 22:53", dt(2022, 4, 1, 22, 53), None),
        ("2022-04-01 22:53:05.5", None, "date: 2022-04-01 22:53:05.5 is not a whole second"),
        ("2022-04-01T22:53:05+02:00", None, "date: 2022-04-01T22:53:05+02:00 is not in UTC"),
        (
            "yesterday",
            None,
            "date: expected a date and time like 2022-04-01 22:53:05, found yesterday",
        ),
        ("2022-02-30 10:00:00", None, "found 2022-02-30 10:00:00"),
        ("22-04-01 22:53:05", None, "found 22-04-01 22:53:05"),  # not the year 22
        ("", None, None),
    ]
    body = "".join(f"{text},U{i},PriceInUSD=1.00,{tx(i)}\n" for i, (text, _, _) in enumerate(dates))
    table = read_export(write_csv(tmp_path / "p.csv", PURCHASES_CSV_HEADER + body), PURCHASES)
    got = {row["user_id"]: row for row in table.to_pylist()}
    for i, (text, moment, error) in enumerate(dates):
        row = got[f"U{i}"]
        assert row["source_row"] == i + 2
        assert row["event_time"] == moment, text
        if error is None:
            assert row["cell_errors"] is None, text
        else:
            assert error in row["cell_errors"], text


def test_data_bytes_are_what_is_read(tmp_path: Path):
    path = write_csv(
        tmp_path / "p.csv", PURCHASES_CSV_HEADER + f"2022-04-01 22:00:01,U1,PriceInUSD=1,{tx(1)}\n"
    )
    data = path.read_bytes()
    expected = read_export(path, PURCHASES)
    write_csv(path, PURCHASES_CSV_HEADER)  # the file changes after the caller hashed it
    assert read_export(path, PURCHASES, data=data).equals(expected)
    assert read_export(path, PURCHASES).num_rows == 0


# --- Parquet -------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Paris"])
def test_parquet_timestamps_of_any_unit_are_whole_seconds(tmp_path: Path, unit: str, tz):
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    moment = int(dt(2022, 4, 1, 22, 53, 5).timestamp()) - int(dt(1970, 1, 1).timestamp())
    ticks = [moment * per_second, None, (moment + 1) * per_second]
    if unit != "s":
        ticks.append(moment * per_second + per_second // 2)  # half a second
    n = len(ticks)
    path = write_parquet(
        tmp_path / "p.parquet",
        {
            "date": pa.array(ticks, pa.timestamp(unit, tz=tz)),
            "userId": [f"U{i}" for i in range(n)],
            "revenue": ["PriceInUSD=1.00"] * n,
            "transaction_id": [tx(i) for i in range(n)],
        },
    )
    table = read_export(path, PURCHASES)
    got = rows(table, "source_row", "event_time", "cell_errors")
    # Stored instants are UTC whatever the zone: 22:53:05 UTC is 22:53:05 in the source.
    assert got[:3] == [
        (2, dt(2022, 4, 1, 22, 53, 5), None),
        (3, None, None),
        (4, dt(2022, 4, 1, 22, 53, 6), None),
    ]
    if unit != "s":
        assert got[3][:2] == (5, None)
        assert got[3][2].startswith("date: 2022-04-01 22:53:05.5")
        assert got[3][2].endswith("is not a whole second")


def test_parquet_values_are_read_as_text_without_loss(tmp_path: Path):
    path = write_parquet(
        tmp_path / "s.parquet",
        {
            "Date": pa.array(["2022-04-01 22:00:00", "2022-04-01T23:00:00", "soon", None]),
            "USERID": pa.array([12345, 7, 8, None], pa.int64()),
            "country": pa.array(["US", "CA", "GB", None]).dictionary_encode(),
            "total_spins": pa.array([3.5, 379.0, 0.1, None], pa.float64()),
            "Total Daily Revenue": pa.array([None, None, None, "to be filled by BI"]),
        },
    )
    table = read_export(path, SPINS)
    assert rows(table, "source_row", "event_time", "user_id", "country", "total_spins") == [
        (2, dt(2022, 4, 1, 22), "12345", "US", "3.5"),
        (3, dt(2022, 4, 1, 23), "7", "CA", "379"),
        (4, None, "8", "GB", "0.1"),
    ]  # the note-only row 5 is not data
    assert table["cell_errors"].to_pylist() == [
        None,
        None,
        "date: expected a date and time like 2022-04-01 22:53:05, found soon",
    ]


def test_parquet_date_columns_of_dates_and_large_strings(tmp_path: Path):
    path = write_parquet(
        tmp_path / "p.parquet",
        {
            "date": pa.array([dt(2022, 4, 1).date()], pa.date32()),
            "userId": pa.array(["U1"], pa.large_string()),
            "revenue": pa.array(["PriceInUSD=4.99"], pa.large_string()),
            "transaction_id": pa.array([tx(1)]),
        },
    )
    assert rows(read_export(path, PURCHASES), "event_time", "user_id") == [(dt(2022, 4, 1), "U1")]


def test_parquet_empty_rows_are_dropped_and_rows_keep_their_numbers(tmp_path: Path):
    path = write_parquet(
        tmp_path / "p.parquet",
        {
            "date": pa.array([None, "2022-04-01 22:00:00", " ", None], pa.string()),
            "userId": [None, "U1", "", None],
            "revenue": [None, "PriceInUSD=1", "\t", None],
            "transaction_id": [None, tx(1), None, None],
        },
    )
    assert rows(read_export(path, PURCHASES), "source_row", "user_id") == [(3, "U1")]


def test_parquet_row_numbers_run_on_across_row_groups(tmp_path: Path):
    n = 10
    table = pa.table(
        {
            "date": pa.array([dt(2022, 4, 1, 22, 0, i) for i in range(n)], pa.timestamp("ms")),
            "userId": [None if i == 4 else f"U{i}" for i in range(n)],
            "revenue": ["PriceInUSD=1"] * n,
            "transaction_id": [tx(i) for i in range(n)],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=3)
    assert pq.ParquetFile(tmp_path / "p.parquet").metadata.num_row_groups == 4
    got = rows(read_export(tmp_path / "p.parquet", PURCHASES), "source_row", "user_id")
    assert got == [(i + 2, None if i == 4 else f"U{i}") for i in range(n)]


def test_an_empty_parquet_table_is_an_empty_extract(tmp_path: Path):
    path = write_parquet(
        tmp_path / "p.parquet",
        {
            name: pa.array([], pa.string())
            for name in ("date", "userId", "revenue", "transaction_id")
        },
    )
    table = read_export(path, PURCHASES, data=path.read_bytes())
    assert table.num_rows == 0 and table.schema == extract_schema(PURCHASES)


def test_xlsx_is_read_by_the_workbook_reader(tmp_path: Path):
    path = write_workbook(tmp_path / "w.xlsx", [(dt(2022, 4, 1, 22), "007", "PriceInUSD=1", tx(1))])
    assert rows(read_export(path, PURCHASES), "source_row", "user_id") == [(2, "007")]


# --- bad files: one line naming the file ---------------------------------------------------------


def _zip_bytes(tmp_path: Path) -> bytes:
    return write_workbook(tmp_path / "real.xlsx").read_bytes()


def _parquet_bytes(tmp_path: Path) -> bytes:
    columns = {name: ["x"] * 1000 for name in ("date", "userId", "revenue", "transaction_id")}
    return write_parquet(tmp_path / "real.parquet", columns).read_bytes()


GARBAGE = bytes(range(255, -1, -1)) * 16

BAD_FILES = {
    # name: (file name, bytes (given tmp_path), expected message part)
    "garbage csv": ("g.csv", lambda t: GARBAGE, "not UTF-8"),
    "binary csv": ("b.csv", lambda t: bytes(range(256)), "the header row is not that of a sheet"),
    "garbage parquet": ("g.parquet", lambda t: GARBAGE, "cannot be read as a Parquet file"),
    "garbage xlsx": ("g.xlsx", lambda t: GARBAGE, "cannot be read as an .xlsx workbook"),
    "empty csv": ("e.csv", lambda t: b"", "empty file"),
    "blank csv": ("e.csv", lambda t: b" \n\n", "empty file"),
    "empty parquet": ("e.parquet", lambda t: b"", "cannot be read as a Parquet file"),
    "empty xlsx": ("e.xlsx", lambda t: b"", "cannot be read as an .xlsx workbook"),
    "truncated parquet": (
        "t.parquet",
        lambda t: _parquet_bytes(t)[: len(_parquet_bytes(t)) // 2],
        "cannot be read as a Parquet file",
    ),
    "parquet with a damaged page": (
        "d.parquet",
        lambda t: (lambda b: b[:4] + b"\xff" * 200 + b[204:])(_parquet_bytes(t)),
        "d.parquet:",
    ),
    "ragged csv": (
        "r.csv",
        lambda t: (PURCHASES_CSV_HEADER + "2022-04-01 22:00:00,U1,PriceInUSD=1\n").encode(),
        "row 2 has 3 fields, the header row has 4",
    ),
    "ragged csv, too many": (
        "r.csv",
        lambda t: (PURCHASES_CSV_HEADER + "a,b,c,d\n\na,b,c,d,e\n").encode(),
        "row 4 has 5 fields, the header row has 4",
    ),
    "latin-1 csv": (
        "l.csv",
        lambda t: (PURCHASES_CSV_HEADER + "2022-04-01 22:00:00,Jos\xe9,PriceInUSD=1,x\n").encode(
            "latin-1"
        ),
        "not UTF-8 text in column 'userId'",
    ),
    "latin-1 header": ("l.csv", lambda t: "dat\xe9,userId\n".encode("latin-1"), "not UTF-8"),
    "xlsx named csv": ("x.csv", _zip_bytes, "looks like a zip archive"),
    "parquet named csv": ("p.csv", _parquet_bytes, "looks like a Parquet file"),
    "csv named parquet": (
        "c.parquet",
        lambda t: PURCHASES_CSV_HEADER.encode(),
        "cannot be read as a Parquet file",
    ),
    "xlsx named parquet": ("x.parquet", _zip_bytes, "looks like a zip archive"),
    "parquet named xlsx": ("p.xlsx", _parquet_bytes, "looks like a Parquet file"),
    "a record longer than the bound": (
        "long.csv",
        lambda t: (
            PURCHASES_CSV_HEADER + "x" * (2 * MAX_CSV_RECORD_BYTES + 10) + ",b,c,d\n"
        ).encode(),
        "a record longer than",
    ),
    "an unclosed quote": (
        "quote.csv",
        lambda t: (
            PURCHASES_CSV_HEADER
            + '"2022-04-01,U1,P,x\n'
            + "a,b,c,d\n" * (MAX_CSV_RECORD_BYTES // 4)
        ).encode(),
        "a record longer than",
    ),
    "a header longer than the bound": (
        "wide.csv",
        lambda t: b"date" * MAX_CSV_RECORD_BYTES,
        "the header row is longer than",
    ),
    "too many columns": (
        "cols.csv",
        lambda t: ("date,userId,revenue,transaction_id" + ",x" * 20_000 + "\n").encode(),
        "20,004 columns",
    ),
    "bare CR line breaks": (
        "cr.csv",
        lambda t: (PURCHASES_CSV_HEADER[:-1] + "\r2022-04-01 22:00:00,U1,P,x\r").encode(),
        "bare CR line break",
    ),
    "semicolons": (
        "semi.csv",
        lambda t: b"date;userId;revenue;transaction_id\n",
        "the columns look separated by ';': only ',' is read",
    ),
    "unsupported suffix": (
        "p.txt",
        lambda t: PURCHASES_CSV_HEADER.encode(),
        "unsupported file type",
    ),
}


#: Faults a header alone does not show: ``sheet_kinds`` passes, ``read_export`` finds them.
IN_THE_ROWS = {"ragged csv", "ragged csv, too many", "latin-1 csv", "parquet with a damaged page"}
IN_THE_ROWS |= {"a record longer than the bound", "an unclosed quote"}


@pytest.mark.parametrize("case", BAD_FILES)
@pytest.mark.parametrize("from_bytes", [False, True], ids=["path", "data"])
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, case: str, from_bytes: bool):
    name, make, expected = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(make(tmp_path))
    data = path.read_bytes() if from_bytes else None
    if case in IN_THE_ROWS:
        assert sheet_kinds(path, data) == ["purchases"]
        reads = [read_export]
    else:
        reads = [read_export, sheet_kinds]
    for read in reads:
        with pytest.raises(SourceFormatError) as error:
            read(path, PURCHASES, data) if read is read_export else read(path, data)
        message = str(error.value)
        assert message.startswith(f"{path}:"), message
        assert expected in message, message
        assert "\n" not in message, message


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_a_missing_file_is_one_line_naming_it(tmp_path: Path, suffix: str):
    path = tmp_path / f"gone{suffix}"
    for read in (lambda: read_export(path, PURCHASES), lambda: sheet_kinds(path)):
        with pytest.raises(SourceFormatError, match=rf"^{path}: cannot be read.*No such file"):
            read()


def test_a_nested_parquet_column_is_an_error_naming_it(tmp_path: Path):
    path = write_parquet(
        tmp_path / "n.parquet",
        {
            "date": ["2022-04-01 22:00:00"],
            "userId": pa.array([{"id": "U1"}]),
            "revenue": ["PriceInUSD=1"],
            "transaction_id": [tx(1)],
        },
    )
    with pytest.raises(SourceFormatError, match=r"n\.parquet: column 'userId' of type struct"):
        read_export(path, PURCHASES)


def test_parquet_columns_expanding_beyond_the_bound_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    names = ("date", "userId", "revenue", "transaction_id")
    columns = {name: [f"{name}-{i:0100d}" for i in range(1000)] for name in names}
    path = write_parquet(tmp_path / "big.parquet", columns)
    read_export(path, PURCHASES)  # within the default bound
    monkeypatch.setattr(formats, "MAX_PARQUET_BYTES", 10_000)
    with pytest.raises(SourceFormatError, match=r"big\.parquet: its columns expand to .* bound"):
        read_export(path, PURCHASES)


# --- no inference: any text survives ------------------------------------------------------------


def _blank(text: str) -> bool:
    """Blank for every reader: nothing but white space and control characters."""
    return all(c.isspace() or unicodedata.category(c)[0] in "ZC" for c in text)


cells = st.text(st.characters(exclude_categories=("Cs",)), max_size=40).filter(
    lambda s: not _blank(s)
)


@given(values=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=8))
def test_any_text_survives_csv_and_parquet_unchanged(tmp_path_factory, values):
    where = tmp_path_factory.mktemp("text")
    moment = dt(2022, 4, 1, 22, 0, 1)
    stream = io.StringIO(newline="")
    # CRLF records, as Excel writes them: the writer then quotes every value holding a CR or LF.
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(["date", "userId", "revenue", "transaction_id"])
    writer.writerows([f"{moment:%Y-%m-%d %H:%M:%S}", *row] for row in values)
    csv_path = write_csv(where / "p.csv", stream.getvalue())
    parquet_path = write_parquet(
        where / "p.parquet",
        {
            "date": pa.array([moment] * len(values), pa.timestamp("us")),
            "userId": [row[0] for row in values],
            "revenue": [row[1] for row in values],
            "transaction_id": [row[2] for row in values],
        },
    )
    for path in (csv_path, parquet_path):
        table = read_export(path, PURCHASES)
        assert rows(table, "user_id", "revenue", "transaction_id") == values, path.suffix
        assert table["event_time"].to_pylist() == [moment] * len(values)
        assert table["cell_errors"].null_count == len(values)
    # CSV: every record where a CSV reader finds it (a quoted line break does not shift rows).
    assert read_export(csv_path, PURCHASES)["source_row"].to_pylist() == [
        i + 2 for i in range(len(values))
    ]


@given(
    moments=st.lists(
        st.datetimes(min_value=dt(1, 1, 1), max_value=dt(9999, 12, 31, 23, 59, 59)).map(
            lambda moment: moment.replace(microsecond=0)
        ),
        min_size=1,
        max_size=10,
    ),
    iso=st.booleans(),
)
def test_any_whole_second_date_reads_back(tmp_path_factory, moments, iso):
    where = tmp_path_factory.mktemp("dates")
    sep = "T" if iso else " "
    body = "".join(
        f"{m.year:04d}-{m:%m-%d}{sep}{m:%H:%M:%S},U{i},PriceInUSD=1,{tx(i)}\n"
        for i, m in enumerate(moments)
    )
    table = read_export(write_csv(where / "p.csv", PURCHASES_CSV_HEADER + body), PURCHASES)
    assert table["event_time"].to_pylist() == moments
    assert table["cell_errors"].null_count == len(moments)


@pytest.mark.parametrize("blank", [" ", "\t", "\x0b", "\x85", "\u00a0", "\u2028", "  \u3000 "])
def test_whitespace_only_cells_are_empty_as_in_workbooks(tmp_path: Path, blank: str):
    path = write_csv(
        tmp_path / "p.csv",
        PURCHASES_CSV_HEADER + f"2022-04-01 22:00:01,U1,{blank},{tx(1)}\n",
    )
    assert read_export(path, PURCHASES)["revenue"].to_pylist() == [None]
