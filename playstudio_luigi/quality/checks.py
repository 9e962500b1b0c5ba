"""Data checks on silver and gold, in the spirit of dbt tests.

Each check is a SQL template under ``sql/checks/<layer>/<name>.sql`` that selects the rows that
fail it for one interval; no row means pass. The file opens with the check's severity and
description (``-- severity: error``, ``-- description: ...``), and :data:`CHECKS` is read from
the files once, on first use. A failing ``error`` check rolls back the task's transaction and
fails the task (the layer stays exactly as before), a failing ``warn`` check is recorded and the
task goes on. Every result, pass or fail, lands in ``ops.check_results`` with the interval, the
failing-row count and a small sample.

A check whose rule a constraint of its table enforces declares it (``-- guaranteed by: unique
(transaction_id)`` or ``-- guaranteed by: not null (a, b)``): where the catalog shows that
constraint present and in force (a valid, immediate unique index on those columns, not null;
valid not-null constraints), the check is recorded as passed without running its SQL, its
sample naming the constraint (``[{"guaranteed_by": ...}]``); where the constraint is missing
(dropped, deferred, not yet validated) its SQL runs as any other check's. Re-checking what a
primary key guarantees cost a day's bulk run as much as the rest of its checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any, Literal, get_args

import psycopg2.extensions
from psycopg2.extras import Json

from playstudio_luigi.db.sql import render, template_names

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class Guarantee:
    """A constraint on the check's table that makes the check pass by itself: ``unique`` (no
    two rows share ``columns``) or ``not null`` (none of ``columns`` holds a null)."""

    kind: Literal["unique", "not null"]
    columns: tuple[str, ...]


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
    #: The constraint of the (first) checked table that enforces the rule, if any.
    guarantee: Guarantee | None = None

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


#: A check file opens with its metadata: ``-- severity: error`` and ``-- description: ...``.
_HEADER_LINE = re.compile(
    r"--\s*(?P<key>severity|description|guaranteed by)\s*:\s*(?P<value>.*?)\s*$"
)
#: ``unique (a, b)`` or ``not null (a, b)``: a check's ``-- guaranteed by:`` line.
_GUARANTEE = re.compile(r"(?P<kind>unique|not null)\s*\((?P<columns>[a-z_][a-z0-9_, ]*)\)")
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


def _header(text: str) -> dict[str, str]:
    """The ``-- key: value`` metadata lines a check's SQL opens with."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("--"):
            break
        match = _HEADER_LINE.match(line)
        if match:
            found[match["key"]] = match["value"]
    return found


def check_header(text: str, template: str = "<check>") -> tuple[Severity, str]:
    """``(severity, description)`` from the leading ``--`` comment lines of a check's SQL;
    ``ValueError`` if either is missing or the severity is not one of :data:`SEVERITIES`."""
    found = _header(text)
    severity, description = found.get("severity"), found.get("description")
    if severity not in SEVERITIES:
        raise ValueError(f"{template}: severity must be one of {SEVERITIES}, not {severity!r}")
    if not description:
        raise ValueError(f"{template}: no '-- description:' line")
    if "%" in description:  # the header is part of the SQL psycopg2 interpolates
        raise ValueError(f"{template}: '%' in the description")
    return severity, description


def check_guarantee(text: str, template: str = "<check>") -> Guarantee | None:
    """The constraint a check's ``-- guaranteed by:`` line names (None without one);
    ``ValueError`` if the line says something else than ``unique (...)``/``not null (...)``."""
    line = _header(text).get("guaranteed by")
    if line is None:
        return None
    match = _GUARANTEE.fullmatch(line)
    if match is None:
        raise ValueError(f"{template}: 'guaranteed by' must be unique (...) or not null (...)")
    columns = tuple(column.strip() for column in match["columns"].split(","))
    return Guarantee(match["kind"], columns)  # type: ignore[arg-type]


def check_templates() -> list[str]:
    """Every check file, ``checks/<layer>/<name>.sql`` (``_``-prefixed files are helpers)."""
    return [
        name
        for name in template_names("checks")
        if name.count("/") == 2 and not name.rsplit("/", 1)[1].startswith("_")
    ]


def load_checks() -> tuple[Check, ...]:
    """The SQL checks, read from their files: in layer order (``LAYER_TABLES``), then by name."""
    root = files("playstudio_luigi.sql")
    loaded = []
    for template in check_templates():
        _, layer, filename = template.split("/")
        if layer not in LAYER_TABLES:
            raise ValueError(f"{template}: unknown layer {layer!r} (see LAYER_TABLES)")
        text = root.joinpath(template).read_text(encoding="utf-8")
        severity, description = check_header(text, template)
        name, guarantee = filename.removesuffix(".sql"), check_guarantee(text, template)
        loaded.append(Check(layer, name, severity, description, guarantee=guarantee))
    order = list(LAYER_TABLES)
    return tuple(sorted(loaded, key=lambda check: (order.index(check.layer), check.name)))


#: The SQL checks (:func:`load_checks`), read on first use, so that importing the package
#: needs no SQL files (the embedded server's tools run where only the code is on the path).
CHECKS: tuple[Check, ...]


def _registered() -> tuple[Check, ...]:
    """:data:`CHECKS` as the module holds it now (tests may replace it)."""
    if "CHECKS" not in globals():
        globals()["CHECKS"] = load_checks()
    return globals()["CHECKS"]


def __getattr__(name: str) -> Any:
    if name == "CHECKS":
        return _registered()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    #: The constraint that made the check pass without running its SQL, if one did.
    guaranteed_by: str | None = None

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
    """An ``error`` check failed: the task's transaction was rolled back. ``interval_starts``:
    the intervals the results judged, when fewer than the run's."""

    log_traceback = False  # the message has the check and a sample; ops.check_results the rest

    def __init__(
        self,
        what: str,
        results: list[CheckResult],
        message: str | None = None,
        interval_starts: Sequence[datetime] = (),
    ) -> None:
        self.results = results
        self.interval_starts = tuple(interval_starts)
        failed = "; ".join(r.describe() for r in results if r.blocking)
        super().__init__(message or f"{what}: data check failed, nothing was written: {failed}")


def checks_for(layer: str) -> list[Check]:
    return [check for check in _registered() if check.layer == layer]


def run_checks(
    cursor: psycopg2.extensions.cursor, layer: str, params: dict[str, Any]
) -> list[CheckResult]:
    """Evaluate every check of ``layer`` for the interval that ``params`` describe (a check a
    constraint in force guarantees passes without its SQL: see the module docstring)."""
    results = []
    for check in checks_for(layer):
        guaranteed_by = enforcing_constraint(cursor, check)
        if guaranteed_by is not None:
            results.append(CheckResult(check, 0, [{"guaranteed_by": guaranteed_by}], guaranteed_by))
            continue
        statement = render(
            "checks/_evaluate.sql", check_template=check.template, check_sql=check.sql
        )
        cursor.execute(statement, params)
        failing_rows, sample = cursor.fetchone()
        results.append(CheckResult(check, failing_rows, sample))
    return results


def enforcing_constraint(cursor: psycopg2.extensions.cursor, check: Check) -> str | None:
    """What enforces ``check``'s rule on its table now, as the catalog says (e.g. ``primary
    key silver_purchases_pkey (transaction_id)``), or None: the check must run."""
    guarantee = check.guarantee
    if guarantee is None or not check.checked_tables:
        return None
    params = {"table": check.checked_tables[0], "columns": list(guarantee.columns)}
    if guarantee.kind == "not null":
        cursor.execute(render("checks/_not_null_columns.sql"), params)
        enforced = {column for (column,) in cursor.fetchall()}
        if enforced != set(guarantee.columns):
            return None
        return f"not null ({', '.join(guarantee.columns)})"
    cursor.execute(render("checks/_unique_index.sql"), params)
    found = cursor.fetchone()
    if found is None:
        return None
    name, primary, columns = found
    kind = "primary key" if primary else "unique index"
    return f"{kind} {name} ({', '.join(columns)})"


def record_results(
    cursor: psycopg2.extensions.cursor,
    results: list[CheckResult],
    task_id: str,
    task_family: str,
    interval_starts: Sequence[datetime],
) -> None:
    """Store results in ``ops.check_results``, each with every interval it judged."""
    starts = sorted(interval_starts)
    for result in results:
        cursor.execute(
            render("checks/record.sql"),
            {
                "task_id": task_id,
                "task_family": task_family,
                "interval_start": starts[0],
                "interval_starts": starts,
                "check_name": result.check.name,
                "layer": result.check.layer,
                "severity": result.check.severity,
                "status": "fail" if result.failed else "pass",
                "failing_rows": result.failing_rows,
                "sample": Json(result.sample, dumps=lambda v: json.dumps(v, default=str)),
            },
        )
