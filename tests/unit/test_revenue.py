from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from playstudio_luigi.quality.revenue import parse_revenue, split_revenue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PriceInUSD=4.99", ("USD", Decimal("4.99"))),
        ("PriceInUSD=100", ("USD", Decimal("100"))),
        ("PriceInUSD=0.5", ("USD", Decimal("0.5"))),
        (" PriceInEUR=1.00 ", ("EUR", Decimal("1.00"))),
    ],
)
def test_parse_revenue(text, expected):
    assert parse_revenue(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4.99",
        "PriceInUSD=",
        "PriceInUSD=4.999",
        "PriceInusd=4.99",
        "PriceInUSD=-1",
        "USD=4.99",
        "PriceInUSD=4,99",
        "PriceInUSD=1e3",
        "",
    ],
)
def test_parse_revenue_rejects(text):
    with pytest.raises(ValueError, match="PriceIn<CUR>=<amount>"):
        parse_revenue(text)


@given(cents=st.integers(min_value=0, max_value=10**12), currency=st.sampled_from(["USD", "CAD"]))
def test_vectorised_parse_agrees_with_scalar(cents, currency):
    text = f"PriceIn{currency}={cents // 100}.{cents % 100:02d}"
    parsed = split_revenue(pa.array([text, "garbage"])).to_pylist()
    assert parsed[1] is None
    assert (parsed[0]["currency"], Decimal(parsed[0]["amount"])) == parse_revenue(text)
    assert Decimal(parsed[0]["amount"]) * 100 == cents
