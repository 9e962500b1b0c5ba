"""``playstudio-luigi status``: which intervals are done, missing or failed, per layer."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import psycopg2.extensions

from playstudio_luigi import config
from playstudio_luigi.alerts.message import collapse
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import ONE_HOUR, starts_between, utcnow
from playstudio_luigi.reports.source_health import (
    SheetStatus,
    render_source_health,
    source_health,
)
from playstudio_luigi.tasks import graph


@dataclass(frozen=True)
class LayerOutput:
    """A task whose marker says a layer holds an interval, and the chain of tasks leading to
    it (a failure anywhere there fails the interval too)."""

    layer: str
    family: str
    chain: tuple[str, ...]
    width: timedelta


def layer_outputs(pipeline: graph.TaskGraph | None = None) -> list[LayerOutput]:
    """Every layer's outputs, in pipeline order, from the task graph."""
    pipeline = pipeline or graph.current()
    return [
        LayerOutput(
            layer,
            task.marker_family(),
            tuple(t.marker_family() for t in pipeline.chain(task)),
            task.width,
        )
        for layer in pipeline.layers
        for task in pipeline.layer_outputs(layer)
    ]


@dataclass
class FamilyCoverage:
    layer: str
    family: str
    expected: int
    done: int
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: The family's interval width: what "consecutive" means when gaps are collapsed.
    width: timedelta = ONE_HOUR


@dataclass
class Status:
    start: datetime
    stop: datetime
    coverage: list[FamilyCoverage]
    slowest: list[dict]
    #: The source feed's health per sheet (empty before any run recorded it).
    source: list[SheetStatus] = field(default_factory=list)
    source_stale_after: timedelta = timedelta(minutes=30)

    def to_json(self) -> str:
        data = asdict(self)
        for item in data["coverage"]:
            del item["width"]  # the labels say it; the JSON keeps its shape
        data["source_stale_after_seconds"] = int(data.pop("source_stale_after").total_seconds())
        return json.dumps(data, default=str, indent=2)

    def render(self) -> str:
        lines = [f"Coverage of [{self.start:%Y-%m-%d %H:%M}, {self.stop:%Y-%m-%d %H:%M}) UTC"]
        for item in self.coverage:
            line = f"  {item.layer:<6} {item.family:<20} {item.done:>6}/{item.expected} done"
            if item.failed:
                line += f"; FAILED {len(item.failed)}: {collapse(item.failed, item.width)}"
            if item.missing:
                line += f"; missing {len(item.missing)}: {collapse(item.missing, item.width)}"
            lines.append(line)
        lines += render_source_health(self.source, self.source_stale_after)
        lines.append("Slowest recent runs")
        if not self.slowest:
            lines.append("  none")
        for run in self.slowest:
            lines.append(
                f"  {float(run['duration_seconds']):8.2f} s  {run['task_family']} "
                f"{run['interval_start']:%Y-%m-%dT%H:%M} on {run['worker_host']}"
            )
        return "\n".join(lines)

    @property
    def complete(self) -> bool:
        return all(not c.missing and not c.failed for c in self.coverage)


def coverage_status(
    connection: psycopg2.extensions.connection,
    start: datetime,
    stop: datetime,
    since: datetime,
    slowest: int = 5,
    now: datetime | None = None,
) -> Status:
    """Coverage of ``[start, stop)`` per layer, the source's health judged at ``now`` (default:
    the clock), and the slowest runs since ``since``."""
    stale_after = config.source_stale_after()
    result = []
    with connection.cursor() as cursor:
        for output in layer_outputs():
            expected = starts_between(start, stop, output.width)
            cursor.execute(
                render("reports/coverage.sql", hourly=output.width == ONE_HOUR),
                {
                    "family": output.family,
                    "chain": list(output.chain),
                    "start": start,
                    "stop": stop,
                },
            )
            state = dict(cursor.fetchall())
            label = "%Y-%m-%dT%H:%M"
            result.append(
                FamilyCoverage(
                    output.layer,
                    output.family,
                    expected=len(expected),
                    done=sum(1 for s in expected if state.get(s) == "done"),
                    missing=[f"{s:{label}}" for s in expected if s not in state],
                    failed=[f"{s:{label}}" for s in expected if state.get(s) == "failed"],
                    width=output.width,
                )
            )
        cursor.execute(render("reports/slowest_runs.sql"), {"since": since, "limit": slowest})
        names = [column.name for column in cursor.description]
        runs = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    source = source_health(connection, now or utcnow(), stale_after)
    return Status(start, stop, result, runs, source, stale_after)
