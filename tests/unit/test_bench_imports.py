"""The benchmarks are not run by the suite, so their use of the package is checked here: every
name they import exists, their steady-state reruns forget the chains they always did, and the
live-feed bench's exports and re-exports are what it claims (valid, covering, one row changed)."""

from __future__ import annotations

import argparse
import ast
import importlib
from datetime import timedelta
from pathlib import Path

import pytest

from playstudio_luigi import FiveMinutePipeline, HourlyPipeline, config
from playstudio_luigi.source.feed import list_exports
from playstudio_luigi.source.formats import read_export
from playstudio_luigi.source.reader import read_sheet
from playstudio_luigi.source.schema import PURCHASES
from playstudio_luigi.source.versions import file_sha256
from playstudio_luigi.testing.sample import SampleSpec, write_sample

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


def _feed_bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    return importlib.import_module("bench.feed")


def test_feed_bench_documents_every_option(monkeypatch):
    feed = _feed_bench(monkeypatch)
    shown = [a for a in feed.parser()._actions if a.help != argparse.SUPPRESS]
    assert {"--quick", "--bench", "--history", "--purchases", "--year-files"} <= {
        option for action in shown for option in action.option_strings
    }
    assert all(action.help for action in shown), [a.option_strings for a in shown]


def test_feed_bench_lateness_is_the_packaged_default(monkeypatch):
    # Each bench export is stamped to cover its own interval under this lateness.
    assert config.allowed_lateness() == _feed_bench(monkeypatch).LATENESS


def test_feed_bench_year_files_are_exports_that_cover_their_interval(monkeypatch, tmp_path):
    feed = _feed_bench(monkeypatch)
    end = feed.write_year(tmp_path, 3)
    listed = list_exports(tmp_path)
    assert len(listed) == 3 and end == feed.START + 3 * feed.FIVE_MINUTES
    for i, export in enumerate(listed):
        interval_end = feed.START + (i + 1) * feed.FIVE_MINUTES
        assert export.modified_at == interval_end + feed.LATENESS + timedelta(seconds=1)
        rows = read_export(Path(export.path), PURCHASES)
        assert rows.num_rows == 1
        assert feed.START + i * feed.FIVE_MINUTES <= rows["event_time"][0].as_py() < interval_end


def test_feed_bench_reexport_is_a_new_version_with_one_row_changed(monkeypatch, tmp_path):
    feed = _feed_bench(monkeypatch)
    base = tmp_path / "base.xlsx"
    write_sample(base, SampleSpec(purchases=60, hours=4))
    target = tmp_path / "export.xlsx"
    reexport = feed.Reexporter(base)
    original = read_sheet(base, PURCHASES)
    seen = {file_sha256(base)}
    for _ in range(2):
        reexport.write(target, feed.START + feed.ONE_HOUR)
        seen.add(file_sha256(target))
        again = read_sheet(target, PURCHASES)
        changed = [
            i
            for i, (a, b) in enumerate(zip(original.to_pylist(), again.to_pylist(), strict=True))
            if a != b
        ]
        assert changed == [0]
        assert again["transaction_id"][0] != original["transaction_id"][0]
    assert len(seen) == 3
