"""Row-level validation: every reason, named after the source's columns."""

from __future__ import annotations

from datetime import datetime as dt

import pandas as pd

from playstudio_luigi.validation import validate_batch

UUID = "00000000-0000-4000-8000-000000000001"


def purchases(*rows):
    return pd.DataFrame(
        rows,
        columns=["source_row", "event_time", "user_id", "revenue", "transaction_id", "cell_errors"],
    )


def spins(*rows):
    return pd.DataFrame(
        rows,
        columns=["source_row", "event_time", "user_id", "country", "total_spins", "cell_errors"],
    )


def test_good_purchases_pass():
    batch = purchases((2, dt(2022, 4, 1, 22), "WW42LKF", "PriceInUSD=4.99", UUID, None))
    assert validate_batch(batch, "purchases").rejected == {}


def test_every_reason_is_collected_at_once():
    batch = purchases(
        (2, dt(2022, 4, 1, 22), "WW42LKF", "PriceInUSD=4.99", UUID, None),
        (3, None, None, "4.99", "not-a-uuid", None),
        (4, dt(2022, 4, 1, 22), "U 1", "PriceInEUR=1.00", UUID, None),
    )
    rejected = validate_batch(batch, "purchases").rejected
    assert set(rejected) == {3, 4}
    assert sorted(rejected[3]) == sorted(
        [
            "date is missing",
            "userId is missing",
            "revenue '4.99' is not of the form PriceIn<CUR>=<amount> with at most 2 decimals",
            "transaction_id 'not-a-uuid' is not a UUID",
        ]
    )
    assert sorted(rejected[4]) == sorted(
        [
            "userId 'U 1' is not a short id (letters, digits, '_' or '-', at most 64)",
            "revenue currency 'EUR' is not accepted (accepted: USD)",
        ]
    )


def test_cell_errors_from_the_reader_reject_the_row():
    batch = purchases(
        (
            7,
            None,
            "U1",
            "PriceInUSD=1.00",
            UUID,
            'date: expected an Excel datetime, found String("x")',
        ),
    )
    assert validate_batch(batch, "purchases").rejected == {
        7: ['date: expected an Excel datetime, found String("x")']
    }


def test_spin_rules():
    batch = spins(
        (2, dt(2022, 4, 1, 22), "U1", "US", "12.5", None),
        (3, dt(2022, 4, 1, 22, 30), "U1", "US", "1", None),
        (4, dt(2022, 4, 1, 22), "U1", "usa", "-1", None),
        (5, dt(2022, 4, 1, 22), "U1", "CA", "many", None),
        (6, dt(2022, 4, 1, 22), "U1", "CA", None, None),
        (7, dt(2022, 4, 1, 22), "U1", "CA", "inf", None),
    )
    rejected = validate_batch(batch, "spins").rejected
    assert set(rejected) == {3, 4, 5, 6, 7}
    assert rejected[3] == ["date 2022-04-01 22:30:00 is not on the hour"]
    assert sorted(rejected[4]) == sorted(
        ["country 'usa' is not a two-letter country code", "total_spins '-1' is negative"]
    )
    assert rejected[5] == ["total_spins 'many' is not a number"]
    assert rejected[6] == ["total_spins is missing"]
    assert rejected[7] == ["total_spins 'inf' is not finite"]


def test_empty_batch_is_valid():
    assert validate_batch(purchases(), "purchases").rejected == {}
    assert validate_batch(spins(), "spins").rejected == {}
