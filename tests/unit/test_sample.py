"""Tests of the deterministic sample export generator (playstudio_luigi.testing.sample)."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
import uuid
import warnings
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import fastexcel
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playstudio_luigi.testing import sample
from playstudio_luigi.testing.sample import (
    DATETIME_NUMBER_FORMAT,
    PRICES_USD,
    PURCHASES_HEADER,
    PURCHASES_SHEET,
    SPINS_HEADER,
    SPINS_NUMBER_FORMAT,
    SPINS_SHEET,
    TEMPLATE_NOTE,
    SampleSpec,
    SampleSummary,
    main,
    write_sample,
)

BUNDLED = (
    Path(__file__).resolve().parents[2]
    / "playstudio_luigi"
    / "testing"
    / "sample_data"
    / "playstudio_sample.xlsx"
)
REVENUE_RE = re.compile(r"^PriceInUSD=\d+\.\d{2}$")
USER_ID_RE = re.compile(r"^[A-Z0-9]{7}$")
CONTRACT_PURCHASES_HEADER = ("date", "userId", "revenue", "transaction_id")
CONTRACT_SPINS_HEADER = (
    "date",
    "userId",
    "country",
    "total_spins",
    "total revenue",
    "total purchases",
    "Average revenue per purchase",
    "Total Daily Revenue",
)
SMALL_SPEC = SampleSpec(purchases=120, hours=6, users=8, padding_rows=5)


@dataclass(frozen=True)
class Book:
    """What openpyxl reads back from a sample workbook."""

    sheet_names: list[str]
    purchases_header: tuple[Any, ...]
    purchases: list[tuple[Any, ...]]
    spins_header: tuple[Any, ...]
    spins: list[tuple[Any, ...]]  # data rows, 8 values each
    padding: list[tuple[Any, ...]]  # trailing rows without any value
    purchase_date_formats: set[str]
    spin_date_formats: set[str]
    spin_value_formats: set[str]


def read_book(path: Path) -> Book:
    """Read a sample back with openpyxl (read-only), keeping the number formats."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        p_rows = list(wb[PURCHASES_SHEET].iter_rows())
        s_rows = list(wb[SPINS_SHEET].iter_rows())
        purchases = [tuple(c.value for c in row) for row in p_rows[1:]]
        spins_all = [tuple(c.value for c in row) for row in s_rows[1:]]
        n_data = len(spins_all)
        while n_data and all(v is None for v in spins_all[n_data - 1]):
            n_data -= 1
        return Book(
            sheet_names=list(wb.sheetnames),
            purchases_header=tuple(c.value for c in p_rows[0]),
            purchases=purchases,
            spins_header=tuple(c.value for c in s_rows[0]),
            spins=spins_all[:n_data],
            padding=spins_all[n_data:],
            purchase_date_formats={row[0].number_format for row in p_rows[1:]},
            spin_date_formats={row[0].number_format for row in s_rows[1 : n_data + 1]},
            spin_value_formats={row[3].number_format for row in s_rows[1 : n_data + 1]},
        )
    finally:
        wb.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def quirks(book: Book) -> dict[str, bool]:
    """Which of the documented quirks the workbook shows."""
    purchases, spins = book.purchases, book.spins
    seen: set[tuple[Any, ...]] = set()
    first_dup = None
    for i, row in enumerate(purchases):
        if row in seen:
            first_dup = i
            break
        seen.add(row)
    originals = purchases if first_dup is None else purchases[:first_dup]
    dups = [] if first_dup is None else purchases[first_dup:]

    spin_pairs = {(row[0], row[1]) for row in spins}
    countries_by_user: dict[str, set[tuple[datetime, str]]] = defaultdict(set)
    for row in spins:
        countries_by_user[row[1]].add((row[0], row[2]))
    key_counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in spins:
        key_counts[row[:3]] += 1
    values = {row[3] for row in spins}
    times = {row[0].time().isoformat() for row in purchases}
    notes = [v for row in spins for v in row[4:] if isinstance(v, str)]
    return {
        "exact_duplicates": bool(dups) and all(row in set(originals) for row in dups),
        "duplicates_not_adjacent": bool(dups)
        and all(purchases[i] != purchases[i - 1] for i in range(1, len(purchases))),
        "originals_time_ordered": all(a[0] <= b[0] for a, b in itertools.pairwise(originals)),
        "purchase_without_spins": any((hour_of(r[0]), r[1]) not in spin_pairs for r in purchases),
        "traveller": any(
            len({c for _h, c in hc}) >= 2 and len({h for h, _c in hc}) >= 2
            for hc in countries_by_user.values()
        ),
        "repeated_spin_key": any(n >= 2 for n in key_counts.values()),
        "fractional_spins": any(v != int(v) for v in values),
        "exact_half_spins": any(v * 2 == int(v * 2) and v != int(v) for v in values),
        "note_in_template": notes == [TEMPLATE_NOTE] and book.spins[0][7] == TEMPLATE_NOTE,
        "padding_rows": len(book.padding) > 0,
        "boundary_seconds": all(
            any(t.endswith(suffix) for t in times)
            for suffix in (":00:00", ":59:59", ":05:00", ":04:59")
        ),
        "second_precision": any(r[0].second != 0 for r in purchases),
        "many_prices": len({r[2] for r in purchases}) >= 5,
    }


@pytest.fixture(scope="module")
def default_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleSummary, Book]:
    summary = write_sample(tmp_path_factory.mktemp("sample") / "default.xlsx")
    return summary, read_book(summary.path)


def test_headers_match_the_contract(default_sample: tuple[SampleSummary, Book]) -> None:
    _summary, book = default_sample
    assert book.sheet_names == ["Purchases", "Spins Hourly"]
    assert book.purchases_header == CONTRACT_PURCHASES_HEADER == PURCHASES_HEADER
    assert book.spins_header == CONTRACT_SPINS_HEADER == SPINS_HEADER


def test_same_spec_gives_byte_identical_file(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a.xlsx", SMALL_SPEC)
    second = write_sample(tmp_path / "b.xlsx", SMALL_SPEC)
    assert sha256(first.path) == sha256(second.path)
    assert first.purchase_rows == second.purchase_rows
    with zipfile.ZipFile(first.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    exported = SMALL_SPEC.end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<dcterms:created xsi:type="dcterms:W3CDTF">{exported}<' in core
    assert f'<dcterms:modified xsi:type="dcterms:W3CDTF">{exported}<' in core


def test_different_seed_gives_different_file(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a.xlsx", SMALL_SPEC)
    other = dataclasses.replace(SMALL_SPEC, seed=SMALL_SPEC.seed + 1)
    second = write_sample(tmp_path / "b.xlsx", other)
    assert sha256(first.path) != sha256(second.path)
    assert read_book(first.path).purchases != read_book(second.path).purchases


def test_bundled_sample_is_the_default_spec(default_sample: tuple[SampleSummary, Book]) -> None:
    # Content, not bytes: the bytes also depend on whether openpyxl finds lxml.
    _summary, book = default_sample
    assert BUNDLED.is_file()
    assert read_book(BUNDLED) == book


def test_summary_counts_match_the_file(default_sample: tuple[SampleSummary, Book]) -> None:
    summary, book = default_sample
    spec = SampleSpec()
    assert summary.path.is_file()
    assert summary.purchase_rows == len(book.purchases)
    assert summary.unique_transactions == len({row[3] for row in book.purchases}) == spec.purchases
    assert summary.purchase_rows == spec.purchases + round(spec.purchases * spec.duplicate_ratio)
    assert summary.spin_rows == len(book.spins) == round(spec.purchases * spec.spins_per_purchase)
    assert len(book.padding) == spec.padding_rows
    hours = {hour_of(row[0]) for row in book.purchases} | {row[0] for row in book.spins}
    assert summary.first_hour == min(hours) == spec.start
    assert summary.last_hour == max(hours) == spec.end - timedelta(hours=1)


def test_dates_in_span_and_well_formed(default_sample: tuple[SampleSummary, Book]) -> None:
    _summary, book = default_sample
    spec = SampleSpec()
    for date, user_id, revenue, tx_id in book.purchases:
        assert isinstance(date, datetime)
        assert spec.start <= date < spec.end
        assert date.microsecond == 0
        assert USER_ID_RE.match(user_id)
        assert REVENUE_RE.match(revenue)
        assert revenue.removeprefix("PriceInUSD=") in PRICES_USD
        assert str(uuid.UUID(tx_id)) == tx_id and uuid.UUID(tx_id).version == 4
    for date, user_id, country, spins, *template in book.spins:
        assert isinstance(date, datetime)
        assert spec.start <= date < spec.end
        assert date == hour_of(date)
        assert USER_ID_RE.match(user_id)
        assert country in spec.countries
        assert isinstance(spins, int | float) and spins >= 0
        assert all(v is None or v == TEMPLATE_NOTE for v in template)
    assert book.purchase_date_formats == {DATETIME_NUMBER_FORMAT}
    assert book.spin_date_formats == {DATETIME_NUMBER_FORMAT}
    assert book.spin_value_formats == {SPINS_NUMBER_FORMAT}


def test_default_sample_has_every_quirk(default_sample: tuple[SampleSummary, Book]) -> None:
    _summary, book = default_sample
    found = quirks(book)
    assert all(found.values()), found
    values = {row[3] for row in book.spins}
    assert {12.5, 2.5, 0.5, 0} <= values
    times = {row[0].time().isoformat() for row in book.purchases}
    assert {"22:05:00", "22:04:59", "22:00:00", "21:59:59"} <= times
    dates = {row[0] for row in book.purchases}
    assert SampleSpec().start in dates
    assert SampleSpec().end - timedelta(seconds=1) in dates


def test_one_country_per_user_and_hour(default_sample: tuple[SampleSummary, Book]) -> None:
    _summary, book = default_sample
    countries: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for row in book.spins:
        countries[(row[0], row[1])].add(row[2])
    assert all(len(found) == 1 for found in countries.values())


def test_every_purchase_hour_has_spins(default_sample: tuple[SampleSummary, Book]) -> None:
    _summary, book = default_sample
    assert {hour_of(row[0]) for row in book.purchases} <= {row[0] for row in book.spins}


@pytest.mark.parametrize(
    "spec",
    [
        SampleSpec(purchases=50, hours=4, users=1, padding_rows=3),
        SampleSpec(purchases=50, hours=4, users=2, padding_rows=3, seed=1),
        SampleSpec(purchases=60, hours=5, users=3, countries=("US", "CA"), padding_rows=1),
        SampleSpec(purchases=80, hours=30, users=50, seed=99, padding_rows=2),
        SampleSpec(purchases=50, hours=4, users=5, duplicate_ratio=0.0, spins_per_purchase=0.0),
    ],
    ids=["one-user", "two-users", "two-countries", "many-users", "no-ratios"],
)
def test_quirks_guaranteed_at_the_threshold(tmp_path: Path, spec: SampleSpec) -> None:
    assert spec.quirks_guaranteed
    summary = write_sample(tmp_path / "s.xlsx", spec)
    book = read_book(summary.path)
    found = quirks(book)
    if spec.padding_rows == 0:
        found.pop("padding_rows")
    found.pop("many_prices")  # by chance only, at this size
    assert all(found.values()), found
    assert summary.purchase_rows == len(book.purchases)
    assert summary.spin_rows == len(book.spins)


def test_fastexcel_reads_data_and_drops_padding(
    default_sample: tuple[SampleSummary, Book],
) -> None:
    summary, book = default_sample
    reader = fastexcel.read_excel(summary.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-empty template columns: "falling back to string"
        purchases = reader.load_sheet_by_name(PURCHASES_SHEET).to_pandas()
        spins_sheet = reader.load_sheet_by_name(SPINS_SHEET)
        spins = spins_sheet.to_pandas()
    assert list(purchases.columns) == list(CONTRACT_PURCHASES_HEADER)
    assert list(spins.columns) == list(CONTRACT_SPINS_HEADER)
    assert len(purchases) == summary.purchase_rows
    # fastexcel 0.21 drops the trailing rows of value-less styled cells.
    assert spins_sheet.height == spins_sheet.total_height == summary.spin_rows
    # Second-precision datetimes survive the float round trip exactly.
    assert [ts.to_pydatetime() for ts in purchases["date"]] == [r[0] for r in book.purchases]
    assert [ts.to_pydatetime() for ts in spins["date"]] == [r[0] for r in book.spins]
    assert list(spins["total_spins"]) == [r[3] for r in book.spins]
    assert spins["Total Daily Revenue"].iloc[0] == TEMPLATE_NOTE


def test_padding_rows_are_real_but_empty(tmp_path: Path) -> None:
    summary = write_sample(tmp_path / "s.xlsx", SampleSpec(purchases=60, hours=4, padding_rows=7))
    with zipfile.ZipFile(summary.path) as archive:
        xml = archive.read("xl/worksheets/sheet2.xml").decode()
    last = 1 + summary.spin_rows + 7
    assert f'<row r="{last}">' in xml
    assert f'<c r="H{last}" s="' in xml  # a styled cell without a value
    book = read_book(summary.path)
    assert len(book.padding) == 7
    assert all(len(row) == len(SPINS_HEADER) for row in book.padding)


def test_warns_beyond_excel_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample, "EXCEL_MAX_ROWS", 100)
    with pytest.warns(UserWarning, match="'Purchases' has 106 rows, more than Excel's 100"):
        summary = write_sample(tmp_path / "s.xlsx", SampleSpec(purchases=100, padding_rows=0))
    assert summary.purchase_rows == 105


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"purchases": 0}, "purchases"),
        ({"hours": 0}, "hours"),
        ({"users": 0}, "users"),
        ({"countries": ()}, "countries"),
        ({"countries": ("usa",)}, "countries"),
        ({"countries": ("US", "US")}, "distinct"),
        ({"duplicate_ratio": 1.5}, "duplicate_ratio"),
        ({"spins_per_purchase": -1.0}, "spins_per_purchase"),
        ({"padding_rows": -1}, "padding_rows"),
        ({"start": datetime(2022, 4, 1, 0, 30)}, "on the hour"),
        ({"start": datetime.fromisoformat("2022-04-01T00:00:00+00:00")}, "naive"),
    ],
)
def test_invalid_specs_are_rejected(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_sample(tmp_path / "x.xlsx", SampleSpec(**changes))
    assert not list(tmp_path.iterdir())


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.xlsx"
    args = ["--out", str(out), "--purchases", "60", "--seed", "3", "--start", "2023-01-02T05:00"]
    assert main([*args, "--hours", "5", "--users", "4"]) == 0
    assert "60 unique transactions" in capsys.readouterr().out
    expected = write_sample(
        tmp_path / "api.xlsx",
        SampleSpec(purchases=60, seed=3, start=datetime(2023, 1, 2, 5), hours=5, users=4),
    )
    assert sha256(out) == sha256(expected.path)
    assert main(["--out", str(tmp_path / "bad.xlsx"), "--hours", "0"]) == 2


@settings(max_examples=25)
@given(
    purchases=st.integers(1, 200),
    hours=st.integers(1, 10),
    users=st.integers(1, 10),
    seed=st.integers(0, 2**32),
    day=st.integers(0, 3000),
    duplicate_ratio=st.sampled_from([0.0, 0.05, 0.5]),
    spins_per_purchase=st.sampled_from([0.0, 0.25, 2.0]),
    padding_rows=st.integers(0, 4),
)
def test_invariants_over_small_specs(
    tmp_path_factory: pytest.TempPathFactory,
    purchases: int,
    hours: int,
    users: int,
    seed: int,
    day: int,
    duplicate_ratio: float,
    spins_per_purchase: float,
    padding_rows: int,
) -> None:
    spec = SampleSpec(
        purchases=purchases,
        hours=hours,
        users=users,
        seed=seed,
        start=datetime(2018, 1, 1) + timedelta(days=day, hours=seed % 24),
        duplicate_ratio=duplicate_ratio,
        spins_per_purchase=spins_per_purchase,
        padding_rows=padding_rows,
    )
    summary = write_sample(tmp_path_factory.mktemp("hyp") / "s.xlsx", spec)
    book = read_book(summary.path)

    assert book.purchases_header == CONTRACT_PURCHASES_HEADER
    assert book.spins_header == CONTRACT_SPINS_HEADER
    assert summary.purchase_rows == len(book.purchases) >= purchases
    assert summary.unique_transactions == len({r[3] for r in book.purchases}) == purchases
    assert summary.spin_rows == len(book.spins) >= round(purchases * spins_per_purchase)
    assert len(book.padding) == padding_rows
    assert len({r[3] for r in book.purchases[:purchases]}) == purchases  # duplicates at the end
    for date, user_id, revenue, tx_id in book.purchases:
        assert spec.start <= date < spec.end and date.microsecond == 0
        assert USER_ID_RE.match(user_id)
        assert REVENUE_RE.match(revenue)
        assert str(uuid.UUID(tx_id)) == tx_id
    for date, user_id, country, spins, *_template in book.spins:
        assert spec.start <= date < spec.end and date == hour_of(date)
        assert USER_ID_RE.match(user_id) and country in spec.countries and spins >= 0
    # Every hour with purchases has spins, except (with a single user) the hour of
    # the purchase that is kept without spins for the quirk.
    uncovered = {hour_of(r[0]) for r in book.purchases} - {r[0] for r in book.spins}
    assert not uncovered or (spec.quirks_guaranteed and users == 1 and len(uncovered) == 1)
    assert len({r[1] for r in book.purchases} | {r[1] for r in book.spins}) <= users
    hours_seen = {hour_of(r[0]) for r in book.purchases} | {r[0] for r in book.spins}
    assert (summary.first_hour, summary.last_hour) == (min(hours_seen), max(hours_seen))
    if spec.quirks_guaranteed:
        found = quirks(book)
        found.pop("many_prices")
        if padding_rows == 0:
            found.pop("padding_rows")
        assert all(found.values()), found
