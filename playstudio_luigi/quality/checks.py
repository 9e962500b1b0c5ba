"""Data checks on silver and gold, in the spirit of dbt tests.

Each check is a SQL template under ``sql/checks/<layer>/<name>.sql`` that selects the rows that
fail it for one interval; no row means pass. Each has a severity: a failing ``error`` check
rolls back the task's transaction and fails the task (the layer stays exactly as before), a
failing ``warn`` check is recorded and the task goes on. Every result, pass or fail, lands in
``ops.check_results`` with the interval, the failing-row count and a small sample.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg2.extensions
from psycopg2.extras import Json

from playstudio_luigi.db.sql import render

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class Check:
    """One named check of one layer."""

    layer: str
    name: str
    severity: Severity
    description: str
    #: Inline SQL selecting failing rows; by default ``sql/checks/<layer>/<name>.sql``.
    sql: str | None = None
    #: Tables whose rows the check judges; by default the layer's table (``LAYER_TABLES``).
    tables: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        return f"checks/{self.layer}/{self.name}.sql"

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def checked_tables(self) -> tuple[str, ...]:
        """Qualified names of the tables this check is about (for the data docs)."""
        return self.tables or LAYER_TABLES.get(self.layer, ())


# The table each SQL check layer judges.
LAYER_TABLES: dict[str, tuple[str, ...]] = {
    "silver_purchases": ("silver.silver_purchases",),
    "silver_spins_hourly": ("silver.silver_spins_hourly",),
    "gold": ("gold.aggregated_final_table",),
}


CHECKS: tuple[Check, ...] = (
    Check("silver_purchases", "not_null", "error", "key and values present"),
    Check("silver_purchases", "unique_transaction_id", "error", "one row per transaction_id"),
    Check("silver_purchases", "revenue_positive", "error", "revenue > 0"),
    Check("silver_purchases", "in_interval", "error", "rows lie in their interval and hour"),
    Check(
        "silver_purchases",
        "reconciles_with_bronze",
        "error",
        "every bronze transaction is in silver, and silver holds nothing else",
    ),
    Check("silver_spins_hourly", "unique_key", "error", "one row per (hour, user, country)"),
    Check("silver_spins_hourly", "spins_non_negative", "error", "total_spins >= 0"),
    Check("silver_spins_hourly", "country_accepted", "error", "two-letter country codes"),
    Check(
        "silver_spins_hourly",
        "reconciles_with_bronze",
        "error",
        "per key, silver spins = sum of bronze spins",
    ),
    Check("gold", "unique_key", "error", "one row per (app_hour, user_id)"),
    Check("gold", "not_null", "error", "no null column"),
    Check("gold", "country_accepted", "error", "two-letter code or UNKNOWN"),
    Check("gold", "non_negative", "error", "money and counts >= 0"),
    Check(
        "gold",
        "daily_at_least_hourly",
        "error",
        "total_revenue_per_user_daily >= total_revenue_hourly",
    ),
    Check(
        "gold",
        "revenue_equals_avg_times_count",
        "error",
        "total_revenue_hourly = avg x count, to the cent",
    ),
    Check(
        "gold",
        "purchases_match_silver",
        "error",
        "purchase counts and revenue = silver's distinct transactions",
    ),
    Check("gold", "spins_match_silver", "error", "spins = silver spins, rounded half up"),
    Check("gold", "daily_matches_silver", "error", "daily revenue = silver revenue of the day"),
)

# Checks made while validating source rows (not SQL): recorded like the others.
INGEST_CHECKS: dict[str, Check] = {
    "country_known": Check(
        "ingest",
        "country_known",
        "warn",
        "country in [playstudio] accepted_countries",
        tables=("bronze.bronze_spins_hourly",),
    ),
    "reject_ratio": Check(
        "ingest",
        "reject_ratio",
        "error",
        "quarantined share <= [playstudio] max_reject_ratio",
        tables=("bronze.bronze_purchases", "bronze.bronze_spins_hourly", "ops.quarantine"),
    ),
}


@dataclass
class CheckResult:
    check: Check
    failing_rows: int
    sample: list[Any] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.failing_rows > 0

    @property
    def blocking(self) -> bool:
        return self.failed and self.check.severity == "error"

    def describe(self) -> str:
        sample = json.dumps(self.sample[:2], default=str)
        return (
            f"{self.check.qualified_name} ({self.check.severity}): {self.failing_rows} failing "
            f"row(s), {self.check.description}; e.g. {sample}"
        )


class CheckFailedError(RuntimeError):
    """An ``error`` check failed: the task's transaction was rolled back."""

    def __init__(self, what: str, results: list[CheckResult], message: str | None = None) -> None:
        self.results = results
        failed = "; ".join(r.describe() for r in results if r.blocking)
        super().__init__(message or f"{what}: data check failed, nothing was written: {failed}")


def checks_for(layer: str) -> list[Check]:
    return [check for check in CHECKS if check.layer == layer]


def run_checks(
    cursor: psycopg2.extensions.cursor, layer: str, params: dict[str, Any]
) -> list[CheckResult]:
    """Evaluate every check of ``layer`` for the interval that ``params`` describe."""
    results = []
    for check in checks_for(layer):
        statement = render(
            "checks/_evaluate.sql", check_template=check.template, check_sql=check.sql
        )
        cursor.execute(statement, params)
        failing_rows, sample = cursor.fetchone()
        results.append(CheckResult(check, failing_rows, sample))
    return results


def record_results(
    cursor: psycopg2.extensions.cursor,
    results: list[CheckResult],
    task_id: str,
    task_family: str,
    interval_start: datetime,
) -> None:
    """Store results in ``ops.check_results``."""
    for result in results:
        cursor.execute(
            render("checks/record.sql"),
            {
                "task_id": task_id,
                "task_family": task_family,
                "interval_start": interval_start,
                "check_name": result.check.name,
                "layer": result.check.layer,
                "severity": result.check.severity,
                "status": "fail" if result.failed else "pass",
                "failing_rows": result.failing_rows,
                "sample": Json(result.sample, dumps=lambda v: json.dumps(v, default=str)),
            },
        )
