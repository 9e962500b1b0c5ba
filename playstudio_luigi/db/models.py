"""The SQL models and how each is materialised.

A model (``sql/<layer>/<table>.sql``) is a pure ``with ... select * from final``: it says what a
row of its table is. ``sql/_materialize.sql`` is the one wrapper that lands a model's rows: it
deletes the target table's rows of the given intervals (by the table's interval column), inserts
the model's rows by name (an explicit column list), optionally keeps the first row on a key
conflict, and optionally returns columns of the inserted rows. Each :class:`Model` below
declares those choices for one table.

Identifiers are quoted (:func:`quote_identifier`) before they reach the template; values only
ever travel as bound parameters (``%(starts)s``, ``%(hours)s``, ``%(revenue_pattern)s``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg2.extensions

from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.revenue import SQL_AMOUNT_PATTERN
from playstudio_luigi.source.schema import LAYOUTS, SheetLayout

WRAPPER = "_materialize.sql"


def quote_identifier(name: str) -> str:
    """``name`` as a PostgreSQL identifier; a dotted name is quoted part by part
    (``silver.silver_purchases`` → ``"silver"."silver_purchases"``)."""
    parts = name.split(".")
    if not all(parts) or "\x00" in name:
        raise ValueError(f"not an identifier: {name!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


@dataclass(frozen=True)
class KeepFirst:
    """On a conflict on ``key``, the row that sorts first by ``order`` wins: the current row is
    replaced only by one that sorts strictly before it. ``touched`` is set to ``now()`` when a
    row is replaced."""

    key: tuple[str, ...]
    order: tuple[str, ...]
    touched: str | None = None


@dataclass(frozen=True)
class Model:
    """One table built by one model template."""

    #: The model, a path under ``sql/``.
    template: str
    #: The table its rows land in, ``schema.table``.
    target: str
    #: The target's column that files a row under an interval; its rows of the intervals are
    #: replaced.
    interval_column: str
    #: The bound parameter holding the intervals (as the model itself names it).
    interval_param: str
    #: The columns inserted, by name, from the model's rows.
    columns: tuple[str, ...]
    on_conflict: KeepFirst | None = None
    #: Columns of the inserted rows that :func:`materialize` returns.
    returning: tuple[str, ...] = ()
    #: Jinja context of the model template (identifiers only; never values).
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Bound parameters the model always needs.
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The wrapper around the model: one delete and one insert statement."""
        if not self.interval_param.isidentifier():
            raise ValueError(f"not a parameter name: {self.interval_param!r}")
        keep_first = None
        if self.on_conflict is not None:
            policy = self.on_conflict
            keep_first = {
                "key": [quote_identifier(c) for c in policy.key],
                "order": [quote_identifier(c) for c in policy.order],
                "updated": [quote_identifier(c) for c in self.columns if c not in policy.key],
                "touched": quote_identifier(policy.touched) if policy.touched else None,
            }
        return render(
            WRAPPER,
            model_template=self.template,
            target=quote_identifier(self.target),
            interval_column=quote_identifier(self.interval_column),
            interval_param=self.interval_param,
            columns=[quote_identifier(c) for c in self.columns],
            keep_first=keep_first,
            returning=[quote_identifier(c) for c in self.returning],
            **self.context,
        )


def materialize(
    cursor: psycopg2.extensions.cursor,
    model: Model,
    intervals: Sequence[datetime],
    **params: Any,
) -> list[tuple[Any, ...]]:
    """Replace ``model.target``'s rows of ``intervals`` by the model's rows; return the
    ``returning`` columns of the inserted rows (none without ``returning``)."""
    cursor.execute(
        model.render(), {**model.params, **params, model.interval_param: list(intervals)}
    )
    return cursor.fetchall() if model.returning else []


SILVER_PURCHASES = Model(
    template="silver/silver_purchases.sql",
    target="silver.silver_purchases",
    interval_column="interval_start",
    interval_param="starts",
    columns=(
        "transaction_id",
        "event_time",
        "app_hour",
        "interval_start",
        "user_id",
        "revenue",
        "source_path",
        "source_sha256",
        "source_sheet",
        "source_row",
        "source_copies",
    ),
    on_conflict=KeepFirst(
        key=("transaction_id",), order=("event_time", "source_row"), touched="loaded_at"
    ),
    params={"revenue_pattern": SQL_AMOUNT_PATTERN},
)

SILVER_SPINS = Model(
    template="silver/silver_spins_hourly.sql",
    target="silver.silver_spins_hourly",
    interval_column="app_hour",
    interval_param="hours",
    columns=("app_hour", "user_id", "country", "total_spins", "source_rows", "source_sha256"),
)

GOLD = Model(
    template="gold/aggregated_final_table.sql",
    target="gold.aggregated_final_table",
    interval_column="app_hour",
    interval_param="hours",
    columns=(
        "app_hour",
        "user_id",
        "country",
        "total_spins_hourly",
        "total_revenue_hourly",
        "amount_purchases_hourly",
        "avg_revenue_per_purchase_hourly",
        "total_revenue_per_user_daily",
    ),
    returning=("app_hour",),
)


def bronze(layout: SheetLayout) -> Model:
    """Bronze of one sheet: its accepted staged rows, values untouched (``sheet`` is a bound
    parameter of the model)."""
    value_columns = layout.value_fields
    return Model(
        template="bronze/load.sql",
        target=f"bronze.{layout.bronze_table}",
        interval_column="interval_start",
        interval_param="starts",
        columns=(
            "interval_start",
            "event_time",
            "user_id",
            *value_columns,
            "source_path",
            "source_sha256",
            "source_sheet",
            "source_row",
            "extracted_at",
        ),
        context={
            "staging_table": quote_identifier(layout.staging_table),
            "value_columns": [quote_identifier(c) for c in value_columns],
        },
    )


#: Bronze's model of each sheet, by ``SheetLayout.kind``.
BRONZE: dict[str, Model] = {kind: bronze(layout) for kind, layout in LAYOUTS.items()}

#: Every model, in pipeline order.
MODELS: tuple[Model, ...] = (
    *BRONZE.values(),
    SILVER_PURCHASES,
    SILVER_SPINS,
    GOLD,
)
