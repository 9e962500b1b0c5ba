"""Hostile and malformed source files: each gives a clear error naming the file (and sheet), or
the right data, within bounded memory and time; nothing is written for a failed interval.

Every case runs ``playstudio-luigi backfill`` for one hour in a subprocess, so that a reader
that aborts or exhausts memory fails the case instead of the test session, and so that its
peak RSS and duration are measured. (Bad *rows* are in ``test_hostile_input.py``.)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from datetime import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from faults import before_sheet_end, cli, cli_env, rewrite_sheet, run_cli
from source_rows import tx

from playstudio_luigi.source.bounds import MAX_PART_BYTES
from playstudio_luigi.testing import PURCHASE_HEADER, table_rows, write_workbook

pytestmark = pytest.mark.integration

HOUR = dt(2022, 4, 1, 22)
ONE_HOUR = ("--start", "2022-04-01T22", "--stop", "2022-04-01T23")
#: Peak RSS of one hour's backfill on any of these inputs (measured: ~200 MB).
MAX_RSS_MB = 600
MAX_SECONDS = 180


GOOD_PURCHASES = [
    (HOUR + timedelta(minutes=7 * i), f"U{i}", "PriceInUSD=2.50", tx(i)) for i in range(5)
]
GOOD_SPINS = [(HOUR, "U1", "US", 3), (HOUR, "U2", "CA", 1.5)]


def good_workbook(path: Path) -> Path:
    return write_workbook(path, GOOD_PURCHASES, GOOD_SPINS)


PURCHASES_XML = "xl/worksheets/sheet1.xml"

# --------------------------------------------------------------------------- the corpus


def random_bytes(path: Path) -> Path:
    path.write_bytes(os.urandom(64 * 1024))
    return path


def csv_renamed(path: Path) -> Path:
    lines = [",".join(PURCHASE_HEADER)] + [",".join(map(str, row)) for row in GOOD_PURCHASES]
    path.write_text("\n".join(lines))
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def zip_without_workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a spreadsheet")
    return path


def zip_bomb(path: Path) -> Path:
    """~1 MB on disk, 1 GiB + 1 MiB of XML once inflated (blank space between elements)."""
    blank = b" " * (1 << 20)

    def padding() -> Iterator[bytes]:
        for _ in range(MAX_PART_BYTES // len(blank) + 1):
            yield blank

    return rewrite_sheet(good_workbook(path), PURCHASES_XML, before_sheet_end(padding))


def text_bomb(path: Path) -> Path:
    """A 4 MiB text in one cell (Excel allows 32,767 characters): 2 KB on disk."""

    def cell() -> Iterator[bytes]:
        yield b'<row r="20"><c r="B20" t="inlineStr"><is><t>'
        yield b"A" * (4 << 20)
        yield b"</t></is></c></row>"

    return rewrite_sheet(good_workbook(path), PURCHASES_XML, before_sheet_end(cell))


def far_cell(path: Path) -> Path:
    """One stray cell at XFD1048576: a 17-billion-cell sheet (the reader used to abort)."""

    def cell() -> Iterator[bytes]:
        yield b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'

    return rewrite_sheet(good_workbook(path), PURCHASES_XML, before_sheet_end(cell))


def padding_to_last_row(path: Path) -> Path:
    """Formatted but empty cells on every row down to Excel's last, 1,048,576."""

    def rows() -> Iterator[bytes]:
        start = len(GOOD_PURCHASES) + 2
        batch = []
        for r in range(start, 1_048_577):
            batch.append(
                f'<row r="{r}"><c r="A{r}" s="1"/><c r="B{r}"/><c r="C{r}"/><c r="D{r}"/></row>'
            )
            if len(batch) == 10_000:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode()

    return rewrite_sheet(good_workbook(path), PURCHASES_XML, before_sheet_end(rows))


def formulas_and_errors(path: Path) -> Path:
    """A formula with its cached value (read), formula error cells and a formula with no
    cached value (quarantined with their reason)."""

    def cells() -> Iterator[bytes]:
        yield (
            b'<row r="20"><c r="A20" s="1"><f>DATE(2022,4,1)+TIME(22,50,0)</f><v>44652.951388888891'
            b'</v></c><c r="B20" t="str"><f>"F"&amp;"1"</f><v>F1</v></c><c r="C20" t="str">'
            b'<f>"PriceInUSD="&amp;"7.00"</f><v>PriceInUSD=7.00</v></c><c r="D20" t="str">'
            b'<f>LOWER("' + tx(20).encode() + b'")</f><v>' + tx(20).encode() + b"</v></c></row>"
        )
        for r, code in ((21, "#DIV/0!"), (22, "#N/A"), (23, "#REF!")):
            yield (
                f'<row r="{r}"><c r="A{r}" s="1"><v>44652.95</v></c><c r="B{r}" t="inlineStr">'
                f'<is><t>E{r}</t></is></c><c r="C{r}" t="e"><f>1/0</f><v>{code}</v></c>'
                f'<c r="D{r}" t="inlineStr"><is><t>{tx(r)}</t></is></c></row>'
            ).encode()
        yield (
            b'<row r="24"><c r="A24" s="1"><v>44652.95</v></c><c r="B24" t="inlineStr"><is><t>N1'
            b'</t></is></c><c r="C24"><f>A1</f></c><c r="D24" t="inlineStr"><is><t>'
            + tx(24).encode()
            + b"</t></is></c></row>"
        )

    return rewrite_sheet(good_workbook(path), PURCHASES_XML, before_sheet_end(cells))


def merged_cells(path: Path) -> Path:
    """userId merged over rows 2-3: Excel keeps the value in the first cell only."""
    good_workbook(path)
    workbook = openpyxl.load_workbook(path)
    workbook["Purchases"].merge_cells("B2:B3")
    workbook.save(path)
    return path


def hidden_sheets(path: Path) -> Path:
    good_workbook(path)
    workbook = openpyxl.load_workbook(path)
    workbook["Purchases"].sheet_state = "hidden"
    workbook.create_sheet("Notes").sheet_state = "veryHidden"
    workbook.save(path)
    return path


def sheet_names_in_other_case(path: Path) -> Path:
    return write_workbook(path, GOOD_PURCHASES, GOOD_SPINS, sheets=("PURCHASES", " spins hourly"))


def missing_sheet(path: Path) -> Path:
    return write_workbook(path, GOOD_PURCHASES, GOOD_SPINS, sheets=("Purchase", "Spins Hourly"))


def two_sheets_match(path: Path) -> Path:
    good_workbook(path)
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("purchases ").append(list(PURCHASE_HEADER))
    workbook.save(path)
    return path


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]
    error: str | None  # regex the failed tasks' error must match; None: loads
    purchases: int = len(GOOD_PURCHASES)  # silver purchases when it loads
    quarantined: int = 0
    spins_ok: bool = True  # the spins sheet is fine, so its tasks complete


NOT_XLSX = r"{path}: cannot be read as an \.xlsx workbook"
CASES = {
    "random_bytes": Case(random_bytes, NOT_XLSX, spins_ok=False),
    "csv_renamed": Case(csv_renamed, NOT_XLSX, spins_ok=False),
    "empty_file": Case(empty_file, NOT_XLSX, spins_ok=False),
    "zip_without_workbook": Case(zip_without_workbook, NOT_XLSX, spins_ok=False),
    "zip_bomb": Case(zip_bomb, r"{path}: sheet 'Purchases' expands to .* above the bound"),
    "text_bomb": Case(text_bomb, r"{path}: sheet 'Purchases' has a text of more than"),
    "cell_at_XFD1048576": Case(
        far_cell, r"{path}: sheet 'Purchases' uses 1,048,576 rows x 16,384 columns"
    ),
    "padding_to_row_1048576": Case(padding_to_last_row, None),
    "formulas_and_error_cells": Case(
        formulas_and_errors, None, purchases=len(GOOD_PURCHASES) + 1, quarantined=4
    ),
    "merged_cells": Case(merged_cells, None, purchases=len(GOOD_PURCHASES) - 1, quarantined=1),
    "hidden_sheets": Case(hidden_sheets, None),
    "sheet_names_in_other_case": Case(sheet_names_in_other_case, None),
    "missing_sheet": Case(missing_sheet, r"{path}: sheet 'Purchases' not found"),
    "two_sheets_match": Case(
        two_sheets_match, r"{path}: several (columns or )?sheets match 'Purchases'"
    ),
}

PURCHASE_FAMILIES = (
    "ExtractPurchases",
    "ValidatePurchases",
    "LoadBronzePurchases",
    "SilverPurchases",
    "GoldAggregate",
    "HourlyPipeline",
)


@pytest.mark.parametrize("name", CASES)
def test_hostile_file(name: str, warehouse: str, db, tmp_path: Path) -> None:
    import re

    case = CASES[name]
    path = case.make(tmp_path / f"{name}.xlsx")
    outcome = run_cli(
        cli("backfill", *ONE_HOUR),
        cli_env(dsn=warehouse, home=tmp_path / "home", source=path),
        timeout=MAX_SECONDS,
    )
    print(
        f"{name}: {path.stat().st_size:,} bytes on disk, exit {outcome.returncode}, "
        f"{outcome.seconds:.1f} s, peak RSS {outcome.peak_rss_mb:.0f} MB"
    )
    assert outcome.peak_rss_mb < MAX_RSS_MB
    assert outcome.seconds < MAX_SECONDS
    markers = {f for f, _ in table_rows(db, "ops.task_markers", ["task_family", "interval_start"])}
    if case.error is None:
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        silver = table_rows(db, "silver.silver_purchases", ["transaction_id"])
        assert len(silver) == case.purchases
        assert len(table_rows(db, "ops.quarantine", ["source_row"])) == case.quarantined
        assert len(table_rows(db, "gold.aggregated_final_table", ["user_id"])) > 0
        return

    assert outcome.returncode != 0
    pattern = case.error.format(path=re.escape(str(path)))
    errors = [e for (e,) in table_rows(db, "ops.task_runs", ["error"]) if e]
    assert errors and all(re.search(pattern, e) for e in errors), errors[:3]
    assert re.search(pattern, outcome.stderr), outcome.stderr[-2000:]
    # Nothing written for the failed intervals: no marker, no row, nothing quarantined.
    assert not markers & set(PURCHASE_FAMILIES)
    for table in ("staging.extract_purchases", "bronze.bronze_purchases", "ops.quarantine"):
        assert table_rows(db, table, ["source_row"]) == [], table
    assert table_rows(db, "gold.aggregated_final_table", ["user_id"]) == []
    assert bool(markers) == case.spins_ok


# In a folder, a file holding one sheet only is an ordinary export, not a broken one.
FOLDER_CASES = [n for n, case in CASES.items() if case.error is not None and n != "missing_sheet"]


@pytest.mark.parametrize("name", FOLDER_CASES)
def test_hostile_file_in_a_folder_is_named_and_the_rest_loads(
    name: str, warehouse: str, db, tmp_path: Path
) -> None:
    """The same file dropped into an export folder (it is the newest export, as a file being
    written is): the backfill loads the other exports, and every run names the file."""
    import os
    import re

    folder = tmp_path / "exports"
    folder.mkdir()
    good = good_workbook(folder / "export-22.xlsx")
    written = (HOUR + timedelta(hours=1, minutes=6)).replace(tzinfo=UTC).timestamp()
    os.utime(good, (written, written))
    path = CASES[name].make(folder / f"{name}.xlsx")
    outcome = run_cli(
        cli("backfill", *ONE_HOUR),
        cli_env(dsn=warehouse, home=tmp_path / "home", source=folder),
        timeout=MAX_SECONDS,
    )
    assert outcome.peak_rss_mb < MAX_RSS_MB
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    assert len(table_rows(db, "silver.silver_purchases", ["transaction_id"])) == len(GOOD_PURCHASES)
    assert len(table_rows(db, "gold.aggregated_final_table", ["user_id"])) > 0
    # named, with the reason, in the run's output and in the catalog
    warned = [line for line in outcome.stderr.splitlines() if "source export not read" in line]
    assert warned and all(str(path) in line for line in warned), outcome.stderr[-2000:]
    with db.cursor() as cursor:  # the file's error, or that of the sheet it cannot give
        cursor.execute(
            "select f.path, coalesce(f.error, string_agg(s.error, '; ')) from ops.source_files f"
            " left join ops.source_sheets s on s.sha256 = f.sha256 group by f.path, f.error"
            " order by 1"
        )
        errors = cursor.fetchall()
    assert [(p, bool(e)) for p, e in errors] == sorted([(str(good), False), (str(path), True)])
    # nothing of what cannot be read is loaded (a readable Spins sheet of the file is)
    for table in ("bronze.bronze_purchases", "ops.quarantine"):
        paths = {p for (p,) in table_rows(db, table, ["source_path"])}
        assert str(path) not in paths, table
    assert re.search(re.escape(str(path)), dict(errors)[str(path)])
