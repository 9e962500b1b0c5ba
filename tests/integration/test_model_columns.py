"""The models' rows fit their declared materialisation, and PostgreSQL reads revenue with the
pattern defined once in quality/revenue.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playstudio_luigi.db import models
from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.revenue import SQL_REVENUE_PATTERN, _revenue_pattern, parse_revenue

pytestmark = pytest.mark.integration

PARAMS = {
    "starts": [datetime(2022, 4, 1)],
    "hours": [datetime(2022, 4, 1)],
    "days_from": datetime(2022, 4, 1),
    "days_to": datetime(2022, 4, 2),
    "sheet": "x",
}


@pytest.mark.parametrize("model", models.MODELS, ids=lambda m: m.target)
def test_model_selects_exactly_the_declared_columns(db, model: models.Model):
    with db.cursor() as cursor:
        cursor.execute(
            f"select * from ({render(model.template, **model.context)}) as model limit 0",
            {**PARAMS, **model.params},
        )
        assert tuple(column.name for column in cursor.description) == model.columns


def amount(cursor, text: str | None):
    """What silver reads as the amount of ``text`` (sql/silver/_revenue_amount.sql)."""
    cursor.execute(
        f"select {render('silver/_revenue_amount.sql')} from (select %(text)s::text as revenue) t",
        {"text": text, **models.SILVER_PURCHASES.params},
    )
    return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "text", ["PriceInUSD=4.99", " PriceInEUR=1.00 ", "PriceInUSD=100", "PriceInCAD=0.5"]
)
def test_postgres_reads_the_amount_python_reads(db, text: str):
    with db.cursor() as cursor:
        assert amount(cursor, text) == parse_revenue(text)[1]


@pytest.mark.parametrize("text", ["PriceInUSD=4.999", "PriceInusd=1", "USD=1", "PriceInUSD=1."])
def test_postgres_refuses_what_python_refuses(db, text: str):
    with pytest.raises(ValueError):
        parse_revenue(text)
    with db.cursor() as cursor:
        assert amount(cursor, text) is None


#: What silver read before 2026-12-04: one capturing substring (three times slower).
CAPTURING = _revenue_pattern(r"[A-Z]{3}", r"([0-9]+(?:\.[0-9]{1,2})?)")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only
@given(
    text=st.one_of(
        st.text(alphabet=" \t\n\r\x0b\x0cPriceIn=USDEUR0123456789.,-+e\u00a0x", max_size=24),
        st.from_regex(r"\s{0,2}PriceIn[A-Z]{3}=[0-9]{0,5}(\.[0-9]{0,3})?\s{0,2}", fullmatch=True),
    )
)
def test_the_amount_is_what_a_capturing_substring_reads(db, text):
    with db.cursor() as cursor:
        cursor.execute("select substring(%s from %s)::numeric(14, 2)", (text, CAPTURING))
        (captured,) = cursor.fetchone()
        assert amount(cursor, text) == captured


def test_the_sql_pattern_captures_nothing():
    assert "(" not in SQL_REVENUE_PATTERN.replace("(?:", "")
