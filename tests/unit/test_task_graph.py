"""The task graph's answers follow from the task classes: edges read once from a reference
interval equal each task's own requires() at any interval."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from luigi.task import flatten

from playstudio_luigi.intervals import floor_to
from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.base import HourTask, IntervalTask
from playstudio_luigi.tasks.extract import SourceCovers

PIPELINE = graph.PIPELINE
FAMILIES = [task.get_task_family() for task in PIPELINE.tasks]


@given(
    st.sampled_from(PIPELINE.tasks),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_needs_are_what_requires_returns_at_any_interval(task, moment):
    start = floor_to(moment, task.width)
    required = flatten(task.at(start).requires())
    assert sorted(PIPELINE.needs(task, start)) == sorted(
        (r.marker_family(), r.window.start) for r in required if isinstance(r, IntervalTask)
    )
    # what is not an interval task is the source covering the interval (the watermark)
    covers = [r for r in required if not isinstance(r, IntervalTask)]
    assert [(type(r), r.start) for r in covers] == (
        [(SourceCovers, start)] if task.source_layout is not None else []
    )


def test_layers_and_their_outputs():
    assert PIPELINE.layers == ["bronze", "silver", "gold"]
    outputs = {
        layer: [t.__name__ for t in PIPELINE.layer_outputs(layer)] for layer in PIPELINE.layers
    }
    assert outputs == {
        "bronze": ["LoadBronzePurchases", "LoadBronzeSpins"],
        "silver": ["SilverPurchases", "SilverSpins"],
        "gold": ["GoldAggregate"],
    }


def test_rebuilding_a_layer_reaches_everything_downstream():
    assert [t.__name__ for t in PIPELINE.from_layer("silver")] == [
        "SilverPurchases",
        "SilverSpins",
        "GoldAggregate",
    ]
    assert [t.__name__ for t in PIPELINE.from_layer("bronze")] == FAMILIES
    with pytest.raises(ValueError, match="bronze, silver, gold"):
        PIPELINE.from_layer("platinum")


def test_a_chain_is_everything_upstream():
    (gold,) = PIPELINE.layer_outputs("gold")
    assert [t.get_task_family() for t in PIPELINE.chain(gold)] == FAMILIES


def test_a_task_must_come_after_what_it_requires():
    gold = PIPELINE.tasks[-1]
    with pytest.raises(ValueError, match="GoldAggregate requires SilverPurchases"):
        graph.TaskGraph([t for t in PIPELINE.tasks if t.get_task_family() != "SilverPurchases"])
    with pytest.raises(ValueError, match="not declared before it"):
        graph.TaskGraph([gold, *PIPELINE.tasks[:-1]])


def test_extended_adds_a_layer_for_the_block_only():
    class Extra(HourTask):
        layer = "extra"

        def requires(self):
            return PIPELINE.tasks[-1](hour=self.hour)

    with graph.extended(Extra) as extended:
        assert graph.current() is extended and extended.layers[-1] == "extra"
        assert extended.needs(Extra, datetime(2022, 4, 1, 5)) == [
            ("GoldAggregate", datetime(2022, 4, 1, 5))
        ]
    assert graph.current() is PIPELINE


def test_widths_divide_an_hour():
    assert all(timedelta(hours=1) % task.width == timedelta(0) for task in PIPELINE.tasks)
