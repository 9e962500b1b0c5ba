"""Row-level validation: every reason at once, named after the source's columns."""

from __future__ import annotations

from datetime import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from source_rows import tx

from playstudio_luigi.intervals import five_minute_interval, hour_interval
from playstudio_luigi.quality.revenue import REVENUE_PATTERN
from playstudio_luigi.quality.validation import (
    Limits,
    ValidationResult,
    _revenue_parts,
    batch_rejection,
    validate_batch,
)
from playstudio_luigi.source.schema import LAYOUTS, SPINS

UUID = tx(1)
FIVE = five_minute_interval(dt(2022, 4, 1, 22, 0))
HOUR = hour_interval(dt(2022, 4, 1, 22))
LIMITS = Limits(
    accepted_currencies=("USD",), max_revenue=1000.0, max_spins=10_000.0, accepted_countries=()
)

PURCHASE_COLUMNS = ["source_row", "event_time", "user_id", "revenue", "transaction_id"]
SPIN_COLUMNS = ["source_row", "event_time", "user_id", "country", "total_spins"]


def purchases(*rows):
    frame = pd.DataFrame([r[:5] for r in rows], columns=PURCHASE_COLUMNS)
    frame["cell_errors"] = [r[5] if len(r) > 5 else None for r in rows]
    return frame


def spins(*rows):
    frame = pd.DataFrame([r[:5] for r in rows], columns=SPIN_COLUMNS)
    frame["cell_errors"] = [r[5] if len(r) > 5 else None for r in rows]
    return frame


def rejected(frame, kind="purchases", interval=FIVE, limits=LIMITS):
    return validate_batch(frame, LAYOUTS[kind], limits, interval).rejected


def test_good_purchases_pass():
    batch = purchases((2, dt(2022, 4, 1, 22), "WW42LKF", "PriceInUSD=4.99", UUID))
    assert rejected(batch) == {}


def test_every_reason_is_collected_at_once():
    batch = purchases(
        (2, dt(2022, 4, 1, 22), "WW42LKF", "PriceInUSD=4.99", UUID),
        (3, None, None, "4.99", "not-a-uuid"),
    )
    assert rejected(batch) == {
        3: [
            "date is missing",
            "userId is missing",
            "revenue '4.99' is not of the form PriceIn<CUR>=<amount> with at most 2 decimals",
            "transaction_id 'not-a-uuid' is not a UUID",
        ]
    }


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            (dt(2022, 4, 1, 22), "U 1", "PriceInUSD=1.00", UUID),
            "userId 'U 1' is not a sane id (1 to 64 characters, no spaces or control characters)",
        ),
        (
            (dt(2022, 4, 1, 22), "U1", "PriceInEUR=1.00", UUID),
            "revenue 'PriceInEUR=1.00': currency 'EUR' is not accepted (USD)",
        ),
        (
            (dt(2022, 4, 1, 22), "U1", "PriceInUSD=0.00", UUID),
            "revenue 'PriceInUSD=0.00' is not a positive amount",
        ),
        (
            (dt(2022, 4, 1, 22), "U1", "PriceInUSD=5000", UUID),
            "revenue 'PriceInUSD=5000' is above the ceiling of 1000 USD",
        ),
        (
            (dt(2022, 4, 1, 22, 5), "U1", "PriceInUSD=1.00", UUID),
            "date 2022-04-01 22:05:00 is outside the interval [2022-04-01 22:00, 2022-04-01 22:05)",
        ),
        (
            (dt(2022, 4, 1, 22), "U1", "PriceInUSD=1.00", "'); drop table x; --"),
            'transaction_id "\'); drop table x; --" is not a UUID',
        ),
        (
            (dt(2022, 4, 1, 22), "", "PriceInUSD=1.00", UUID),
            "userId is missing",
        ),
    ],
)
def test_purchase_rules(row, reason):
    assert rejected(purchases((2, *row))) == {2: [reason]}


def test_padded_and_non_ascii_ids_are_valid():
    batch = purchases(
        (2, dt(2022, 4, 1, 22), "  WW42LKF ", "PriceInUSD=1.00", f" {UUID} "),
        (3, dt(2022, 4, 1, 22), "Jürgen_東京", " PriceInUSD=2.50", UUID.upper()),
    )
    assert rejected(batch) == {}


def test_a_conflicting_duplicate_is_a_valid_row():
    # Decided in silver over everything loaded (tests/integration/test_conflicting_duplicates.py),
    # not by validation of one batch: both copies are accepted.
    batch = purchases(
        (2, dt(2022, 4, 1, 22), "U1", "PriceInUSD=1.00", UUID),
        (3, dt(2022, 4, 1, 22, 1), "U2", "PriceInUSD=9.99", UUID),
    )
    assert rejected(batch) == {}


def test_cell_errors_from_the_reader_reject_the_row():
    batch = purchases(
        (7, None, "U1", "PriceInUSD=1.00", UUID, 'date: expected an Excel datetime, found "x"')
    )
    assert rejected(batch) == {7: ['date: expected an Excel datetime, found "x"']}


def test_spin_rules():
    batch = spins(
        (2, dt(2022, 4, 1, 22), "U1", "US", "12.5"),
        (3, dt(2022, 4, 1, 22, 30), "U1", "US", "1"),
        (4, dt(2022, 4, 1, 22), "U1", "usa", "-1"),
        (5, dt(2022, 4, 1, 22), "U1", "CA", "many"),
        (6, dt(2022, 4, 1, 22), "U1", "CA", None),
        (7, dt(2022, 4, 1, 22), "U1", "CA", "inf"),
        (8, dt(2022, 4, 1, 22), "U1", "CA", "20000"),
        (9, dt(2022, 4, 1, 23), "U1", "CA", "1"),
        (10, dt(2022, 4, 1, 22), "U1", " CA ", "0"),
    )
    assert rejected(batch, "spins", HOUR) == {
        3: ["date 2022-04-01 22:30:00 is not on the hour"],
        4: ["country 'usa' is not a two-letter country code", "total_spins '-1' is negative"],
        5: ["total_spins 'many' is not a number"],
        6: ["total_spins is missing"],
        7: ["total_spins 'inf' is not finite"],
        8: ["total_spins '20000' is above the ceiling of 10000"],
        9: [
            "date 2022-04-01 23:00:00 is outside the interval [2022-04-01 22:00, 2022-04-01 23:00)"
        ],
    }


def test_unknown_country_is_a_warning_not_a_reject():
    limits = Limits(("USD",), 1000.0, 10_000.0, accepted_countries=("US", "CA"))
    batch = spins(
        (2, dt(2022, 4, 1, 22), "U1", "US", "1"), (3, dt(2022, 4, 1, 22), "U1", "ZZ", "1")
    )
    result = validate_batch(batch, SPINS, limits, HOUR)
    assert result.rejected == {}
    assert result.warnings == {3: ["country 'ZZ' is not in [playstudio] accepted_countries"]}


def test_empty_batch_is_valid():
    assert rejected(purchases()) == {}
    assert rejected(spins(), "spins", HOUR) == {}


def test_batch_rejection_above_the_ratio_names_the_setting():
    result = ValidationResult(source_rows=30, rejected={r: ["revenue x"] for r in range(10)})
    assert batch_rejection(result, "Purchases [..)", max_ratio=0.5, min_rows=20) is None
    message = batch_rejection(result, "Purchases [..)", max_ratio=0.2, min_rows=20)
    assert "10 of 30 rows (33%) failed validation" in message
    assert "max_reject_ratio = 0.2" in message
    assert "revenue: 10" in message
    # Too few rows for a ratio to mean anything.
    small = ValidationResult(source_rows=3, rejected={1: ["x"], 2: ["x"]})
    assert batch_rejection(small, "x", max_ratio=0.2, min_rows=20) is None


revenue_texts = st.one_of(
    st.text(),  # anything, control characters and Unicode spaces included
    st.builds(
        lambda pad, currency, amount, tail: f"{pad}PriceIn{currency}={amount}{tail}",
        st.sampled_from(["", " ", "\t", "\u00a0", "\x1c", "\n"]),
        st.text(alphabet="ABCDEUSÉz", min_size=2, max_size=4),
        st.from_regex(r"[0-9]{0,4}(\.[0-9]{0,3})?", fullmatch=True),
        st.sampled_from(["", " ", "\u2003", "\x1f", "\r\n", " x"]),
    ),
)


@given(texts=st.lists(st.one_of(st.none(), revenue_texts), max_size=20))
def test_revenue_parts_in_arrow_are_what_pythons_re_extracts(texts):
    stripped = pd.Series(texts, dtype="str").astype(pd.StringDtype()).str.strip()
    stripped = stripped.mask(stripped == "")  # as _prepare hands it over
    expected = stripped.astype(object).str.extract(REVENUE_PATTERN)  # Python's re, row by row
    currency, amount = _revenue_parts(stripped)
    assert currency.isna().tolist() == expected["currency"].isna().tolist()
    assert currency.dropna().tolist() == expected["currency"].dropna().tolist()
    assert amount.tolist() == pytest.approx(
        pd.to_numeric(expected["amount"], errors="coerce").astype("float64").tolist(),
        nan_ok=True,
    )
