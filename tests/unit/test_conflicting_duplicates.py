"""Conflicting duplicates: the first occurrence of a transaction_id wins, exact copies are not
conflicts, whatever the timestamps look like."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from playstudio_luigi.source.versions import conflicting_duplicates

SCHEMA = pa.schema(
    [
        ("source_row", pa.int64()),
        ("event_time", pa.timestamp("s")),
        ("user_id", pa.string()),
        ("revenue", pa.string()),
        ("transaction_id", pa.string()),
    ]
)
MIDNIGHT = datetime(2022, 4, 1)


def table(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, row, strict=True)) for row in rows], SCHEMA)


def test_exact_copies_at_midnight_are_not_conflicts():
    # pandas prints an all-midnight datetime column without its time: an earlier version
    # compared such text and made these rows conflict with themselves.
    rows = [
        (2, MIDNIGHT, "U1", "PriceInUSD=1.00", "a"),
        (3, MIDNIGHT, " U1 ", "PriceInUSD=1.00 ", " A"),
        (4, MIDNIGHT + timedelta(seconds=5), "U2", "PriceInUSD=1.00", "a"),
        (5, None, "U3", "PriceInUSD=9.00", "a"),
        (6, MIDNIGHT, "U1", "PriceInUSD=1.00", None),
    ]
    assert conflicting_duplicates(table(rows)).to_pylist() == [None, None, 2, None, None]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 3)),
            st.sampled_from(["U1", " U1", "U2", None]),
            st.sampled_from(["PriceInUSD=1", "PriceInUSD=1 ", "PriceInUSD=2", None]),
            st.sampled_from(["a", "A ", "b", None]),
        ),
        max_size=30,
    )
)
def test_each_row_points_at_its_ids_first_occurrence_iff_it_differs(specs):
    rows = [
        (i + 2, None if s is None else MIDNIGHT + timedelta(seconds=s), user, revenue, tx)
        for i, (s, user, revenue, tx) in enumerate(specs)
    ]
    found = conflicting_duplicates(table(rows)).to_pylist()

    def norm(value):
        return (value or "").strip()

    for row, conflict in zip(rows, found, strict=True):
        _source_row, moment, user, revenue, tx = row
        if moment is None or tx is None:
            assert conflict is None
            continue
        same_id = [
            r for r in rows if r[1] is not None and r[4] and norm(r[4]).lower() == norm(tx).lower()
        ]
        first = min(same_id, key=lambda r: (r[1], r[0]))
        differs = (moment, norm(user), norm(revenue)) != (first[1], norm(first[2]), norm(first[3]))
        assert conflict == (first[0] if differs else None)
