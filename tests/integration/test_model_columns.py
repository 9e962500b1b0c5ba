"""The models' rows fit their declared materialisation, and PostgreSQL reads revenue with the
pattern defined once in quality/revenue.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from playstudio_luigi.db import models
from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.revenue import SQL_AMOUNT_PATTERN, parse_revenue

pytestmark = pytest.mark.integration

PARAMS = {"starts": [datetime(2022, 4, 1)], "hours": [datetime(2022, 4, 1)], "sheet": "x"}


@pytest.mark.parametrize("model", models.MODELS, ids=lambda m: m.target)
def test_model_selects_exactly_the_declared_columns(db, model: models.Model):
    with db.cursor() as cursor:
        cursor.execute(
            f"select * from ({render(model.template, **model.context)}) as model limit 0",
            {**PARAMS, **model.params},
        )
        assert tuple(column.name for column in cursor.description) == model.columns


@pytest.mark.parametrize(
    "text", ["PriceInUSD=4.99", " PriceInEUR=1.00 ", "PriceInUSD=100", "PriceInCAD=0.5"]
)
def test_postgres_reads_the_amount_python_reads(db, text: str):
    with db.cursor() as cursor:
        cursor.execute("select substring(%s from %s)::numeric", (text, SQL_AMOUNT_PATTERN))
        assert cursor.fetchone()[0] == parse_revenue(text)[1]


@pytest.mark.parametrize("text", ["PriceInUSD=4.999", "PriceInusd=1", "USD=1", "PriceInUSD=1."])
def test_postgres_refuses_what_python_refuses(db, text: str):
    with pytest.raises(ValueError):
        parse_revenue(text)
    with db.cursor() as cursor:
        cursor.execute("select substring(%s from %s)", (text, SQL_AMOUNT_PATTERN))
        assert cursor.fetchone()[0] is None


def test_amount_pattern_has_one_capture_group():
    assert SQL_AMOUNT_PATTERN.count("(") - SQL_AMOUNT_PATTERN.count("(?:") == 1
    assert "(?P<" not in SQL_AMOUNT_PATTERN
