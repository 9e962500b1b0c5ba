"""Validation reads the staged rows back exactly as staged: NULL apart from the empty string,
and text with the characters CSV quotes (the read goes through COPY)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playstudio_luigi.source.schema import PURCHASES
from playstudio_luigi.tasks.validate import read_staged

pytestmark = pytest.mark.integration

START = datetime(2022, 4, 1)
CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", '"', '""', ",", "\n", "a\r\nb", "\\N", "NULL", "é☃", "  x  "]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
)
ROWS = st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS), min_size=0, max_size=12)


def _value(cell: object) -> object:
    return None if cell is None or (not isinstance(cell, str) and pd.isna(cell)) else cell


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_staged_cells_come_back_as_staged(db, rows):
    with db.cursor() as cursor:
        cursor.execute("delete from staging.extract_purchases")
        for number, (user, revenue, transaction, errors) in enumerate(rows, start=2):
            cursor.execute(
                "insert into staging.extract_purchases (interval_start, source_row, event_time,"
                " user_id, revenue, transaction_id, cell_errors, source_path, source_sha256,"
                " extracted_at) values (%s, %s, %s, %s, %s, %s, %s, 'a,\"b\".xlsx', 'sha', %s)",
                (
                    START,
                    number,
                    None if number % 3 else START,
                    user,
                    revenue,
                    transaction,
                    errors,
                    datetime.now(UTC),
                ),
            )
        frame = read_staged(cursor, PURCHASES, [START])
    assert len(frame) == len(rows)
    for (_, row), (user, revenue, transaction, errors) in zip(frame.iterrows(), rows, strict=True):
        got = tuple(_value(row[c]) for c in ("user_id", "revenue", "transaction_id", "cell_errors"))
        assert got == (user, revenue, transaction, errors)
        assert row["source_path"] == 'a,"b".xlsx'
        assert row["interval_start"] == pd.Timestamp(START)
    assert frame["source_row"].tolist() == list(range(2, len(rows) + 2))
    assert frame["event_time"].isna().tolist() == [n % 3 != 0 for n in range(2, len(rows) + 2)]


def test_no_staged_rows_is_an_empty_frame_with_the_columns(db):
    with db.cursor() as cursor:
        frame = read_staged(cursor, PURCHASES, [START])
    assert frame.empty
    staged = ["interval_start", "source_row", "event_time", "user_id", *PURCHASES.value_fields]
    assert list(frame.columns) == [*staged, "cell_errors", "source_path", "source_sha256"]
