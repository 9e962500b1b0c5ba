"""Data docs without a server: lineage from the task classes, charts, histogram bins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import playstudio_luigi
from playstudio_luigi.datadocs import lineage, svg
from playstudio_luigi.datadocs.site import histogram

HOUR = datetime(2022, 4, 1, 22)


def test_task_graph_is_walked_from_the_hourly_pipeline():
    graph = lineage.task_graph(playstudio_luigi.HourlyPipeline(hour=HOUR))
    families = [[node.kind for node in column] for column in graph.columns]
    # the source covering each interval (the watermark, an external task) -> extract ->
    # validate -> bronze -> silver for the hour's spins and its twelve 5-minute purchase
    # intervals, then gold, then the pipeline.
    assert families == [
        ["SourceCovers"] * 13,
        ["ExtractPurchases"] * 12 + ["ExtractSpins"],
        ["ValidatePurchases"] * 12 + ["ValidateSpins"],
        ["LoadBronzePurchases"] * 12 + ["LoadBronzeSpins"],
        ["SilverPurchases"] * 12 + ["SilverSpins"],
        ["GoldAggregate"],
        ["HourlyPipeline"],
    ]
    assert [node.detail for node in graph.columns[1][:3]] == ["22:00", "22:05", "22:10"]
    assert len(graph.nodes) == 67 and len(graph.edges) == 66
    gold = graph.columns[5][0].id
    assert sum(1 for _, target in graph.edges if target == gold) == 13


def test_table_lineage_runs_from_source_sheets_to_gold():
    graph = lineage.table_lineage(playstudio_luigi.HourlyPipeline(hour=HOUR))
    columns = [[node.id for node in column] for column in graph.columns]
    assert columns[0] == ["sheet:Purchases", "sheet:Spins Hourly"]
    assert columns[-1] == ["gold.aggregated_final_table"]
    assert ("bronze.bronze_purchases", "silver.silver_purchases") in graph.edges
    assert ("silver.silver_spins_hourly", "gold.aggregated_final_table") in graph.edges
    assert ("staging.extract_purchases", "ops.quarantine") in graph.edges
    layers = [lineage.layer_of(column[0]) for column in columns]
    assert layers.index("bronze") < layers.index("silver") < layers.index("gold")


def test_graph_svg_escapes_labels_and_draws_every_edge():
    graph = lineage.layered(
        [lineage.Node("a", "<a & b>", "sheet"), lineage.Node("b", "gold", "gold")], [("a", "b")]
    )
    markup = str(svg.graph_svg(graph))
    assert "&lt;a &amp; b&gt;" in markup and "<a &" not in markup
    assert markup.count('class="edge"') == 1 and markup.count('class="node"') == 2
    assert "http" not in markup.replace("http://www.w3.org", "")


def test_stacked_bars_carry_their_values():
    hours = [datetime(2022, 4, 1, 22), datetime(2022, 4, 1, 23)]
    markup = str(
        svg.stacked_bars_svg(hours, {"US": [Decimal("1.50"), Decimal(0)], "other": [2, 3]})
    )
    assert 'data-hour="2022-04-01T22" data-series="US" data-value="1.50"' in markup
    assert markup.count('class="bar"') == 3  # zero values draw nothing


def test_histogram_bins_cover_every_value():
    labels, counts = histogram([Decimal("0.99"), Decimal("4.99"), Decimal("5"), Decimal("49.99")])
    assert sum(counts) == 4
    assert labels[0] == "0-5" and counts[0] == 2
    assert histogram([]) == ([], [])


def test_nice_axis_maximum():
    assert svg.nice_max(0) == 1
    assert svg.nice_max(87) == 100
    assert svg.nice_max(9, integer=True) == 12
