"""Resource bounds: a source padded with millions of empty rows, and a million purchases in
one 5-minute interval, load within the memory documented in README (Reliability).

Each case runs ``playstudio-luigi backfill`` for the hour in a subprocess and measures its peak
RSS. CI runs reduced sizes; the full ones on demand:
``PLAYSTUDIO_BOUNDS_PADDING_ROWS=1048576 PLAYSTUDIO_BOUNDS_PURCHASES=1000000``
(1,048,576 rows in each of five sheets = 5.2M padding rows; 10^6 purchases in one interval).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime as dt
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from faults import before_sheet_end, cli, cli_env, connected, rewrite_sheet, run_cli
from source_rows import tx

from playstudio_luigi.testing import table_rows, write_workbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PADDING_ROWS = int(os.environ.get("PLAYSTUDIO_BOUNDS_PADDING_ROWS", "100000"))
PURCHASES = int(os.environ.get("PLAYSTUDIO_BOUNDS_PURCHASES", "100000"))
HOUR = dt(2022, 4, 1, 22)
ONE_HOUR = ("backfill", "--start", "2022-04-01T22", "--stop", "2022-04-01T23")
#: Documented bounds (README, Reliability), with headroom over the measured peaks.
PADDING_RSS_MB = 1_000
PURCHASES_RSS_MB = {100_000: 800, 1_000_000: 3_000}
EXCEL_EPOCH = dt(1899, 12, 30)


def excel_serial(moment: dt) -> str:
    return repr((moment - EXCEL_EPOCH) / timedelta(days=1))


def padding(first: int, last: int, columns: str) -> Iterator[bytes]:
    """Rows ``first..last`` with formatted but empty cells in ``columns``."""
    batch = []
    for r in range(first, last + 1):
        cells = "".join(f'<c r="{c}{r}" s="1"/>' for c in columns)
        batch.append(f'<row r="{r}">{cells}</row>')
        if len(batch) == 20_000:
            yield "".join(batch).encode()
            batch = []
    yield "".join(batch).encode()


def test_millions_of_padding_rows(warehouse: str, tmp_path: Path) -> None:
    purchases = [
        (HOUR + timedelta(minutes=m), f"U{m}", "PriceInUSD=1.00", tx(m)) for m in range(60)
    ]
    path = write_workbook(tmp_path / "padded.xlsx", purchases, [(HOUR, "U1", "US", 2.5)])
    workbook = openpyxl.load_workbook(path)
    for i in range(3):  # extra sheets are ignored, however big
        workbook.create_sheet(f"Padding{i}").sheet_state = "hidden"
    workbook.save(path)
    last = min(PADDING_ROWS + 2, 1_048_576)
    for number, columns in ((1, "ABCD"), (2, "ABCDEFGH"), (3, "ABCD"), (4, "ABCD"), (5, "ABCD")):
        first = {1: len(purchases) + 2, 2: 3}.get(number, 1)
        rewrite_sheet(
            path,
            f"xl/worksheets/sheet{number}.xml",
            before_sheet_end(lambda first=first, columns=columns: padding(first, last, columns)),
        )
    total = sum(last - f + 1 for f in (len(purchases) + 2, 3, 1, 1, 1))
    outcome = run_cli(cli(*ONE_HOUR), cli_env(dsn=warehouse, home=tmp_path / "home", source=path))
    print(
        f"{total:,} padding rows ({path.stat().st_size:,} bytes): exit {outcome.returncode}, "
        f"{outcome.seconds:.1f} s, peak RSS {outcome.peak_rss_mb:.0f} MB"
    )
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    assert outcome.peak_rss_mb < PADDING_RSS_MB
    with connected(warehouse) as connection:
        assert len(table_rows(connection, "silver.silver_purchases", ["transaction_id"])) == 60
        assert table_rows(connection, "ops.quarantine", ["source_row"]) == []


def test_a_million_purchases_in_one_interval(warehouse: str, tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "big.xlsx", [], [(HOUR, "U1", "US", 2.5)])

    def purchases() -> Iterator[bytes]:
        batch = []
        for i in range(PURCHASES):
            r, when = i + 2, excel_serial(HOUR + timedelta(seconds=i % 300))
            batch.append(
                f'<row r="{r}"><c r="A{r}" s="1"><v>{when}</v></c><c r="B{r}" t="inlineStr">'
                f'<is><t>U{i % 5000}</t></is></c><c r="C{r}" '
                f't="inlineStr"><is><t>PriceInUSD=1.99</t></is></c><c r="D{r}" t="inlineStr"><is>'
                f"<t>{tx(i)}</t></is></c></row>"
            )
            if len(batch) == 20_000:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode()

    rewrite_sheet(path, "xl/worksheets/sheet1.xml", before_sheet_end(purchases))
    outcome = run_cli(
        cli(*ONE_HOUR),
        cli_env(dsn=warehouse, home=tmp_path / "home", source=path),
        timeout=1800,
    )
    print(
        f"{PURCHASES:,} purchases in one interval ({path.stat().st_size:,} bytes): exit "
        f"{outcome.returncode}, {outcome.seconds:.1f} s, peak RSS {outcome.peak_rss_mb:.0f} MB"
    )
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    bound = PURCHASES_RSS_MB[min(PURCHASES_RSS_MB, key=lambda n: abs(n - PURCHASES))]
    assert outcome.peak_rss_mb < bound
    with connected(warehouse) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select count(*), sum(revenue) from silver.silver_purchases where interval_start = %s",
            (HOUR,),
        )
        assert cursor.fetchone() == (PURCHASES, Decimal("1.99") * PURCHASES)
        cursor.execute("select sum(amount_purchases_hourly) from gold.aggregated_final_table")
        assert cursor.fetchone()[0] == PURCHASES
