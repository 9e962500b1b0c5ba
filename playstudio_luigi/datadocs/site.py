"""Render the data docs: a static, self-contained HTML site written to a directory.

Every page inlines its stylesheet and charts (SVG drawn here, at build time), so the site
opens from ``file://`` or any static host with no request leaving it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2
import psycopg2.extensions

import playstudio_luigi
from playstudio_luigi.alerts.message import duration
from playstudio_luigi.datadocs import collect, lineage, svg
from playstudio_luigi.intervals import floor_day, utcnow

PAGES = (
    ("index.html", "Overview"),
    ("lineage.html", "Lineage"),
    ("tables.html", "Tables"),
    ("quality.html", "Quality"),
    ("coverage.html", "Coverage"),
    ("business.html", "Business"),
)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("playstudio_luigi.datadocs") / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def histogram(values: Sequence[Decimal], bins: int = 12) -> tuple[list[str], list[int]]:
    """Counts of ``values`` in ``bins`` equal-width bins from 0, labelled by their lower edge."""
    if not values:
        return [], []
    top = float(max(values)) or 1.0
    width = svg.nice_max(top / bins)
    bins = max(1, math.ceil(top / width + 1e-9))
    counts = [0] * bins
    for value in values:
        counts[min(int(float(value) // width), bins - 1)] += 1
    digits = 0 if width >= 1 else 2
    labels = [f"{i * width:,.{digits}f}-{(i + 1) * width:,.{digits}f}" for i in range(bins)]
    return labels, counts


def build_site(
    out: Path, start: datetime, stop: datetime, connection: psycopg2.extensions.connection
) -> list[Path]:
    """Write the data docs for ``[start, stop)`` into ``out``; return the pages written."""
    business = collect.business(connection, start, stop)
    quality = collect.quality(connection, start, stop)
    coverage = collect.coverage(connection, start, stop)
    tables = collect.table_reference(connection)
    built_at = utcnow()
    source_sheets, source_stale_after = collect.source_feed(connection, built_at)

    root = playstudio_luigi.HourlyPipeline(hour=start)
    task_graph = lineage.task_graph(root)
    table_graph = lineage.table_lineage(root)
    task_classes = {type(task): None for task in lineage.walk(root).values()}
    task_tables = [
        (cls.get_task_family(), cls.reads, cls.writes) for cls in task_classes if cls.writes
    ]
    gold_coverage = next(item for item in coverage if item.layer == "gold")
    days = sorted({floor_day(hour) for hour in business.hours})
    hour_labels = [f"{hour:%m-%d %H:00}" for hour in [row["hour"] for row in quality.trend]]
    daily_labels, daily_counts = histogram(business.daily_revenue)

    context = {
        "start": start,
        "stop": stop,
        "built_at": built_at,
        "version": playstudio_luigi.__version__,
        "pages": PAGES,
        "business": business,
        "quality": quality,
        "coverage": coverage,
        "source_sheets": source_sheets,
        "source_stale_after": duration(source_stale_after),
        "coverage_complete": all(item.done == item.expected for item in coverage),
        "gold_coverage": gold_coverage,
        "tables": tables,
        "task_graph": task_graph,
        "table_graph": table_graph,
        "task_tables": task_tables,
        "task_hour": start,
        "state_colours": svg.STATE_COLOURS,
        "daily_stats": business.daily_stats(),
        "task_graph_svg": svg.graph_svg(
            task_graph, node_width=176, column_gap=40, title="task graph of one hour"
        ),
        "table_lineage_svg": svg.graph_svg(
            table_graph, node_width=196, node_height=28, column_gap=36, title="table lineage"
        ),
        "revenue_svg": svg.stacked_bars_svg(
            business.hours, business.revenue, unit="USD", title="hourly revenue by country"
        ),
        "revenue_small_svg": svg.stacked_bars_svg(
            business.hours, business.revenue, unit="USD", title="hourly revenue", width=600
        ),
        "spins_svg": svg.stacked_bars_svg(
            business.hours, business.spins, unit="spins", title="hourly spins by country"
        ),
        "daily_histogram_svg": svg.bars_svg(
            daily_labels, daily_counts, unit="user-days", title="daily revenue per user (USD)"
        ),
        "quarantine_trend_svg": svg.bars_svg(
            hour_labels,
            [row["quarantined_rows"] for row in quality.trend],
            unit="rows",
            colour=svg.PALETTE[2],
            kind="hour",
            title="quarantined rows per hour",
        ),
        "failed_checks_trend_svg": svg.bars_svg(
            hour_labels,
            [row["failed_checks"] for row in quality.trend],
            unit="checks",
            colour=svg.PALETTE[1],
            kind="hour",
            title="failing checks per hour",
        ),
        "heatmaps": [
            svg.heatmap_svg(days, item.hours, title=f"{item.family} coverage") for item in coverage
        ],
        "gold_heatmap_svg": svg.heatmap_svg(days, gold_coverage.hours, cell=16),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for page, label in PAGES:
        html = _environment().get_template(page).render(title=label, current=page, **context)
        path = out / page
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
