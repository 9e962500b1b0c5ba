"""Everything the data docs show, read from the warehouse (reusing the CLI's reports)."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg2.extensions

from playstudio_luigi import config
from playstudio_luigi.db.sql import render
from playstudio_luigi.intervals import ONE_HOUR, floor_day, floor_hour
from playstudio_luigi.quality.checks import CHECKS, INGEST_CHECKS, Check
from playstudio_luigi.reports.source_health import SheetStatus, source_health
from playstudio_luigi.reports.status import coverage_status, layer_outputs
from playstudio_luigi.reports.summary import GoldSummary, gold_summary

#: Schemas documented in the table reference, in pipeline order.
SCHEMAS = ("staging", "bronze", "silver", "gold", "ops")
_GRAIN = re.compile(r"\s*Grain:\s*(.+?)\.?\s*$")


def _rows(cursor: psycopg2.extensions.cursor, template: str, **params: Any) -> list[dict]:
    cursor.execute(render(template, **params.pop("_context", {})), params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def loaded_range(connection: psycopg2.extensions.connection) -> tuple[datetime, datetime] | None:
    """``[first hour, hour after the last)`` with completed work, or None when nothing is."""
    with connection.cursor() as cursor:
        cursor.execute(render("reports/loaded_range.sql"))
        first, stop = cursor.fetchone()
    return None if first is None else (first, stop)


# Table reference -------------------------------------------------------------------------


@dataclass
class Column:
    name: str
    type: str
    nullable: bool
    primary_key: bool
    description: str


@dataclass
class Table:
    schema: str
    name: str
    description: str
    grain: str
    columns: list[Column] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def anchor(self) -> str:
        return self.qualified_name.replace(".", "-")


def table_reference(connection: psycopg2.extensions.connection) -> list[Table]:
    """Tables, columns and types from PostgreSQL's catalog, descriptions from their comments."""
    tables: dict[str, Table] = {}
    with connection.cursor() as cursor:
        for row in _rows(cursor, "reports/table_catalog.sql", schemas=list(SCHEMAS)):
            key = f"{row['table_schema']}.{row['table_name']}"
            if key not in tables:
                comment = row["table_comment"] or ""
                grain = _GRAIN.search(comment)
                tables[key] = Table(
                    row["table_schema"],
                    row["table_name"],
                    _GRAIN.sub("", comment).strip(),
                    grain.group(1) if grain else "",
                )
            tables[key].columns.append(
                Column(
                    row["column_name"],
                    row["data_type"],
                    row["nullable"],
                    row["primary_key"],
                    row["column_comment"] or "",
                )
            )
    for check in (*CHECKS, *INGEST_CHECKS.values()):
        for name in check.checked_tables:
            if name in tables:
                tables[name].checks.append(check)
    order = {schema: index for index, schema in enumerate(SCHEMAS)}
    return sorted(tables.values(), key=lambda t: (order[t.schema], t.name))


# Quality ---------------------------------------------------------------------------------


@dataclass
class CheckRow:
    check: Check
    intervals: int = 0
    failing_intervals: int = 0
    failing_rows: int = 0
    last_checked_at: datetime | None = None
    sample: Any = None

    @property
    def status(self) -> str:
        if not self.intervals:
            return "not run"
        return "fail" if self.failing_intervals else "pass"


@dataclass
class Quality:
    checks: dict[str, list[CheckRow]]  # by layer
    quarantine_by_reason: list[dict]
    quarantine_samples: list[dict]
    trend: list[dict]

    @property
    def quarantined_rows(self) -> int:
        return sum(row["quarantined_rows"] for row in self.trend)

    @property
    def failing_checks(self) -> int:
        return sum(1 for rows in self.checks.values() for row in rows if row.status == "fail")

    @property
    def passing_checks(self) -> int:
        return sum(1 for rows in self.checks.values() for row in rows if row.status == "pass")


def quality(
    connection: psycopg2.extensions.connection, start: datetime, stop: datetime, samples: int = 5
) -> Quality:
    """Check results per layer, quarantine by reason with sample rows, and the hourly trend."""
    params = {"start": start, "stop": stop}
    with connection.cursor() as cursor:
        latest = _rows(cursor, "reports/check_latest.sql", **params)
        by_reason = _rows(
            cursor, "reports/quarantine_by_reason.sql", _context={"by_interval": True}, **params
        )
        sample_rows = _rows(cursor, "reports/quarantine_samples.sql", limit=samples, **params)
        trend = _rows(cursor, "reports/quality_trend.sql", **params)
    registered = {c.qualified_name: c for c in (*INGEST_CHECKS.values(), *CHECKS)}
    rows: dict[str, CheckRow] = {name: CheckRow(check) for name, check in registered.items()}
    for result in latest:
        name = f"{result['layer']}.{result['check_name']}"
        check = registered.get(name) or Check(
            result["layer"], result["check_name"], result["severity"], "(no longer registered)"
        )
        rows[name] = CheckRow(
            check,
            result["intervals"],
            result["failing_intervals"],
            result["failing_rows"],
            result["last_checked_at"],
            result["sample"],
        )
    by_layer: dict[str, list[CheckRow]] = defaultdict(list)
    for row in rows.values():
        by_layer[row.check.layer].append(row)
    return Quality(dict(by_layer), by_reason, sample_rows, trend)


# Coverage --------------------------------------------------------------------------------


@dataclass
class CoverageMap:
    layer: str
    family: str
    step: timedelta
    expected: int
    done: int
    failed: int
    hours: dict[datetime, tuple[str, str]]  # hour -> (state, tooltip)

    @property
    def missing(self) -> int:
        return self.expected - self.done - self.failed


def coverage(
    connection: psycopg2.extensions.connection, start: datetime, stop: datetime
) -> list[CoverageMap]:
    """Per layer and task family, the state of each hour (through ``playstudio-luigi status``)."""
    status = coverage_status(connection, start, stop, since=start)
    steps = {output.family: output.width for output in layer_outputs()}
    maps = []
    for item in status.coverage:
        step = steps[item.family]
        failed = {datetime.fromisoformat(label) for label in item.failed}
        missing = {datetime.fromisoformat(label) for label in item.missing}
        per_hour: dict[datetime, list[str]] = defaultdict(list)
        moment = floor_hour(start)
        while moment < stop:
            if moment >= start:
                state = "failed" if moment in failed else "missing" if moment in missing else "done"
                per_hour[floor_hour(moment)].append(state)
            moment += step
        hours = {hour: _hour_state(states) for hour, states in per_hour.items()}
        maps.append(
            CoverageMap(item.layer, item.family, step, item.expected, item.done, len(failed), hours)
        )
    return maps


def _hour_state(states: list[str]) -> tuple[str, str]:
    done, failed = states.count("done"), states.count("failed")
    detail = f"{done}/{len(states)} done" + (f", {failed} failed" if failed else "")
    if failed:
        return "failed", detail
    if done == len(states):
        return "done", detail
    return ("partial" if done else "missing"), detail


# Source feed -----------------------------------------------------------------------------


def source_feed(
    connection: psycopg2.extensions.connection, now: datetime
) -> tuple[list[SheetStatus], timedelta]:
    """Each sheet's watermark and staleness at ``now`` (as ``status`` shows it), and the
    threshold it is judged by."""
    stale_after = config.source_stale_after()
    return source_health(connection, now, stale_after), stale_after


# Business --------------------------------------------------------------------------------


@dataclass
class Business:
    summary: GoldSummary
    hours: list[datetime]
    revenue: dict[str, list[Decimal]]  # series (country, top N + other) -> per hour
    spins: dict[str, list[int]]
    countries: list[dict]  # every country: revenue, spins, purchases, user-hours
    daily_revenue: list[Decimal]  # one value per (day, user)
    days: list[datetime]

    def daily_stats(self) -> dict[str, Decimal]:
        values = sorted(self.daily_revenue)
        if not values:
            return {}
        # (quantiles() needs two points before Python 3.13)
        p90 = (
            statistics.quantiles(values, n=10, method="inclusive")[-1]
            if len(values) > 1
            else values[0]
        )
        return {
            "user-days": Decimal(len(values)),
            "mean": sum(values) / len(values),
            "median": statistics.median(values),
            "p90": p90,
            "max": values[-1],
        }


def business(
    connection: psycopg2.extensions.connection,
    start: datetime,
    stop: datetime,
    top_countries: int = 6,
) -> Business:
    """Gold in numbers and the series behind the business charts."""
    params = {"start": start, "stop": stop}
    summary = gold_summary(connection, start, stop)
    with connection.cursor() as cursor:
        hourly = _rows(cursor, "reports/hourly_by_country.sql", **params)
        daily = _rows(cursor, "reports/daily_revenue_per_user.sql", **params)
    totals: dict[str, dict] = {}
    for row in hourly:
        total = totals.setdefault(
            row["country"],
            {
                "country": row["country"],
                "revenue": Decimal(0),
                "spins": 0,
                "purchases": 0,
                "users": 0,
            },
        )
        for key in ("revenue", "spins", "purchases", "users"):
            total[key] += row[key]
    countries = sorted(totals.values(), key=lambda t: (-t["revenue"], -t["spins"], t["country"]))
    hours = []
    hour = floor_hour(start)
    while hour < stop:
        hours.append(hour)
        hour += ONE_HOUR
    index = {hour: i for i, hour in enumerate(hours)}
    top = [t["country"] for t in countries[:top_countries]]
    names = top + (["other"] if len(countries) > len(top) else [])
    revenue = {name: [Decimal(0)] * len(hours) for name in names}
    spins = {name: [0] * len(hours) for name in names}
    for row in hourly:
        name = row["country"] if row["country"] in top else "other"
        revenue[name][index[row["app_hour"]]] += row["revenue"]
        spins[name][index[row["app_hour"]]] += row["spins"]
    days = sorted({floor_day(hour) for hour in hours})
    return Business(
        summary, hours, revenue, spins, countries, [row["revenue"] for row in daily], days
    )
