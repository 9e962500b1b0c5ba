"""The models' rows fit their declared materialisation, and PostgreSQL reads revenue with the
pattern defined once in quality/revenue.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playstudio_luigi.db import models
from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.revenue import SQL_REVENUE_PATTERN, parse_revenue
from playstudio_luigi.quality.whitespace import WHITESPACE

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
    """What silver reads as the amount of ``text``: trimmed (``ops.trimmed``, as the model's
    copies are), then ``sql/silver/_revenue_amount.sql``."""
    cursor.execute(
        f"select {render('silver/_revenue_amount.sql')}"
        " from (select ops.trimmed(%(text)s::text) as revenue) as copy",
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


def python_amount(text: str):
    """What validation accepts and reads: the stripped text, parsed in Python."""
    try:
        return parse_revenue(text.strip())[1]
    except ValueError:
        return None


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only
@given(
    text=st.one_of(
        st.text(
            alphabet=" \t\n\r\x0b\x0c\x1c\x85\u00a0\u2003\u3000PriceIn=USDEUR0123456789.,-+ex",
            max_size=24,
        ),
        st.from_regex(r"\s{0,2}PriceIn[A-Z]{3}=[0-9]{0,5}(\.[0-9]{0,3})?\s{0,2}", fullmatch=True),
    )
)
def test_postgres_reads_any_text_as_validation_does(db, text):
    with db.cursor() as cursor:
        assert amount(cursor, text) == python_amount(text)


def test_the_sql_pattern_captures_nothing():
    assert "(" not in SQL_REVENUE_PATTERN.replace("(?:", "")


def test_ops_trimmed_removes_exactly_the_whitespace_validation_strips(db):
    others = ["x", "\u200b", "\ufeff", "\u180e", "_", "\x7f", "\x1b"]  # not whitespace to Python
    with db.cursor() as cursor:
        for character in [*WHITESPACE, *others]:
            cursor.execute("select ops.trimmed(%s)", (f"{character}U1{character}",))
            expected = "U1" if character in WHITESPACE else f"{character}U1{character}"
            assert cursor.fetchone()[0] == expected, repr(character)
