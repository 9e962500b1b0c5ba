"""The benchmarks are not run by the suite, so their use of the package is checked here: every
name they import exists, and their steady-state reruns forget the chains they always did."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_package_name_a_benchmark_imports_exists(script):
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("playstudio_luigi"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"
                ), f"{script.name}: {node.module}.{alias.name}"


def test_steady_state_reruns_forget_one_sheet_chain_each(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    _chain_families = importlib.import_module("bench.pipeline")._chain_families

    assert _chain_families(FiveMinutePipeline, FiveMinutePipeline.width) == [
        "ExtractPurchases",
        "ValidatePurchases",
        "LoadBronzePurchases",
        "SilverPurchases",
    ]
    assert _chain_families(HourlyPipeline, HourlyPipeline.width) == [
        "ExtractSpins",
        "ValidateSpins",
        "LoadBronzeSpins",
        "SilverSpins",
        "GoldAggregate",
    ]
