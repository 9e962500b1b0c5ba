"""Charts as inline SVG, drawn at build time: no JavaScript, nothing fetched when opened.

Each function returns markup ready for a Jinja2 template. Marks carry ``data-*`` attributes
with the numbers they show (tests read them back) and a ``<title>`` (the browser's tooltip).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup, escape

from playstudio_luigi.datadocs.lineage import Graph

# Colours by layer (and by task family, through the layer its name mentions).
LAYER_COLOURS = {
    "sheet": "#5b9a68",
    "extract": "#8a94a6",
    "staging": "#8a94a6",
    "validate": "#9b7fc0",
    "ops": "#9b7fc0",
    "bronze": "#b87333",
    "silver": "#7d8b99",
    "gold": "#c9a227",
    "pipeline": "#3d7ab8",
}
# Series colours (Tableau 10), then grey for "other".
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
)
OTHER_COLOUR = "#bab0ac"
STATE_COLOURS = {"done": "#59a14f", "partial": "#edc948", "missing": "#d9d9d9", "failed": "#e15759"}


def layer_colour(kind: str) -> str:
    kind = kind.lower()
    if kind.startswith("load"):
        kind = kind.removeprefix("load")
    for layer, colour in LAYER_COLOURS.items():
        if layer in kind:
            return colour
    return LAYER_COLOURS["pipeline"]


def series_colours(names: Sequence[str]) -> dict[str, str]:
    colours = {}
    for index, name in enumerate(names):
        colours[name] = OTHER_COLOUR if name == "other" else PALETTE[index % len(PALETTE)]
    return colours


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"


def _tick(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def nice_max(value: float, integer: bool = False) -> float:
    """A round axis maximum at or above ``value``."""
    if integer:  # ticks at whole numbers: a multiple of the four grid steps
        return 4.0 * max(1, math.ceil(nice_max(value) / 4))
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def graph_svg(
    graph: Graph,
    *,
    node_width: int = 150,
    node_height: int = 24,
    gap: int = 8,
    column_gap: int = 56,
    title: str = "",
) -> Markup:
    """A layered graph: columns left to right, edges as curves with arrowheads."""
    height_of = max((len(column) for column in graph.columns), default=0)
    height = height_of * (node_height + gap) + gap
    width = len(graph.columns) * (node_width + column_gap) - column_gap + 2 * gap
    place: dict[str, tuple[float, float]] = {}
    boxes = []
    for index, column in enumerate(graph.columns):
        x = gap + index * (node_width + column_gap)
        top = (height - len(column) * (node_height + gap) + gap) / 2
        for row, node in enumerate(column):
            y = top + row * (node_height + gap)
            place[node.id] = (x, y)
            boxes.append(
                f'<g class="node" data-node="{escape(node.id)}" data-kind="{escape(node.kind)}">'
                f"<title>{escape(node.id)}{escape(f' ({node.detail})' if node.detail else '')}"
                "</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_width}" height="{node_height}" '
                f'rx="4" fill="{layer_colour(node.kind)}"/>'
                f'<text x="{x + node_width / 2:.1f}" y="{y + node_height / 2 + 4:.1f}" '
                f'text-anchor="middle">{escape(_clip(node.label, node_width))}</text></g>'
            )
    arrow = "arrow-" + re.sub(r"[^a-z0-9]+", "-", title.lower())  # one id per picture on a page
    lines = []
    for source, target in graph.edges:
        (x1, y1), (x2, y2) = place[source], place[target]
        x1, y1, y2 = x1 + node_width, y1 + node_height / 2, y2 + node_height / 2
        middle = (x1 + x2) / 2
        lines.append(
            f'<path class="edge" data-from="{escape(source)}" data-to="{escape(target)}" '
            f'd="M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} '
            f'{x2 - 2:.1f},{y2:.1f}" marker-end="url(#{arrow})"/>'
        )
    return Markup(
        f'<svg class="graph" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'style="max-width: {width:.0f}px" aria-label="{escape(title)}">'
        f'<defs><marker id="{arrow}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#666"/></marker></defs>'
        f"{''.join(lines)}{''.join(boxes)}</svg>"
    )


def _clip(text: str, width: int) -> str:
    limit = max(4, int((width - 8) / 6.8))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stacked_bars_svg(
    labels: Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    *,
    unit: str = "",
    title: str = "",
    width: int = 900,
    height: int = 260,
) -> Markup:
    """One bar per label (an hour), stacked by series (a country), with a y axis and legend."""
    left, right, top, bottom = 64, 12, 22, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [float(sum(values[i] for values in series.values())) for i in range(len(labels))]
    y_max = nice_max(max(totals, default=0), integer=_integers(totals))
    step = plot_w / max(len(labels), 1)
    bar_w = max(step * 0.8, 1)
    colours = series_colours(list(series))
    parts = [_y_axis(left, top, plot_w, plot_h, y_max, unit)]
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = plot_h * float(value) / y_max
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{bar_w:.2f}" height="{h:.2f}" '
                f'fill="{colours[name]}" data-hour="{label:%Y-%m-%dT%H}" '
                f'data-series="{escape(name)}" data-value="{value}">'
                f"<title>{label:%Y-%m-%d %H:00} {escape(name)}: {_fmt(value)} {unit}</title></rect>"
            )
    parts.append(_x_labels(labels, left, step, top + plot_h))
    parts.append(_legend(colours, left, height - 12))
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'style="max-width: {width}px" aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )


def bars_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    title: str = "",
    colour: str = PALETTE[0],
    width: int = 900,
    height: int = 220,
    kind: str = "bin",
) -> Markup:
    """Plain bars with text labels (a histogram's bins, a trend's hours)."""
    left, right, top, bottom = 64, 12, 22, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = nice_max(max(values, default=0), integer=_integers(values))
    step = plot_w / max(len(labels), 1)
    bar_w = max(step * 0.85, 1)
    parts = [_y_axis(left, top, plot_w, plot_h, y_max, unit)]
    every = max(1, math.ceil(len(labels) / 12))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step + (step - bar_w) / 2
        h = plot_h * float(value) / y_max
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" '
            f'height="{h:.2f}" fill="{colour}" data-{kind}="{escape(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {_fmt(value)} {unit}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'style="max-width: {width}px" aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )


def _integers(values: Sequence[float]) -> bool:
    return all(value == int(value) for value in values) and max(values, default=0) < 40


def _y_axis(left: int, top: int, plot_w: float, plot_h: float, y_max: float, unit: str) -> str:
    parts = []
    for k in range(5):
        value = y_max * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_tick(value)}</text>"
        )
    if unit:
        parts.append(f'<text class="unit" x="{left}" y="{top - 6}">{escape(unit)}</text>')
    return "".join(parts)


def _x_labels(labels: Sequence[datetime], left: int, step: float, y: float) -> str:
    """Hours on one line; the date below the first hour shown of each day."""
    every = max(1, math.ceil(len(labels) / 12))
    parts, dated = [], set()
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = left + (i + 0.5) * step
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle">'
            f"{label:%H:00}</text>"
        )
        if label.date() not in dated:
            dated.add(label.date())
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{y + 27:.1f}" text-anchor="middle">'
                f"{label:%Y-%m-%d}</text>"
            )
    return "".join(parts)


def _legend(colours: Mapping[str, str], x: float, y: float) -> str:
    parts = []
    for name, colour in colours.items():
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{colour}"/>'
            f'<text class="legend" x="{x + 14:.0f}" y="{y:.0f}">{escape(name)}</text>'
        )
        x += 30 + 7.5 * len(name)
    return "".join(parts)


def heatmap_svg(
    days: Sequence[datetime],
    cells: Mapping[datetime, tuple[str, str]],
    *,
    title: str = "",
    cell: int = 22,
) -> Markup:
    """Days (rows) by 24 hours (columns); ``cells[hour] = (state, tooltip)``, absent = outside."""
    left, top = 84, 18
    width, height = left + 24 * (cell + 2) + 8, top + len(days) * (cell + 2) + 4
    parts = [
        f'<text class="tick" x="{left + h * (cell + 2) + cell / 2:.0f}" y="{top - 5}" '
        f'text-anchor="middle">{h:02d}</text>'
        for h in range(0, 24, 3)
    ]
    for row, day in enumerate(days):
        y = top + row * (cell + 2)
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + cell / 2 + 4:.0f}" '
            f'text-anchor="end">{day:%Y-%m-%d}</text>'
        )
        for h in range(24):
            hour = day.replace(hour=h)
            x = left + h * (cell + 2)
            if hour not in cells:
                parts.append(
                    f'<rect class="outside" x="{x}" y="{y}" width="{cell}" height="{cell}" rx="3"/>'
                )
                continue
            state, tip = cells[hour]
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" rx="3" '
                f'fill="{STATE_COLOURS[state]}" data-hour="{hour:%Y-%m-%dT%H}" '
                f'data-state="{state}"><title>{hour:%Y-%m-%d %H:00} {escape(tip)}</title></rect>'
            )
    return Markup(
        f'<svg class="heatmap" role="img" viewBox="0 0 {width} {height}" '
        f'style="max-width: {width}px" aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )
