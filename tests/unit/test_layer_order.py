"""A day's layers run extracts first, from a different sheet on consecutive days (two workers
then parse different sheets of a new export at once), in an order the graph allows."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from playstudio_luigi.tasks import graph
from playstudio_luigi.tasks.batch import layer_order

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


@given(DAYS)
def test_every_layer_once_after_what_it_needs(day):
    pipeline = graph.current()
    order = layer_order(pipeline, day)
    assert sorted(order, key=pipeline.tasks.index) == list(pipeline.tasks)
    for number, task in enumerate(order):
        for required, _ in pipeline.upstream(task):
            assert required in order[:number], (task, required)


@given(DAYS)
def test_consecutive_days_start_with_different_sheets(day):
    pipeline = graph.current()
    extracts = pipeline.extracts()
    first, second = (layer_order(pipeline, d) for d in (day, day + timedelta(days=1)))
    assert set(first[: len(extracts)]) == set(extracts)  # the extracts first
    assert first[0] is not second[0]
