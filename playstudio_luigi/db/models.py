"""The SQL models and how each is materialised.

A model (``sql/<layer>/<table>.sql``) is a pure ``with ... select * from final``: it says what a
row of its table is. Two wrappers land a model's rows, each declared by :class:`Model` below:

* by interval (``sql/_materialize.sql``): delete the target table's rows of the given intervals
  (by the table's interval column), insert the model's rows by name (an explicit column list),
  optionally return columns of the inserted rows;
* by key (:class:`ByKey`, ``sql/_by_key/``): the model yields the rows of every key the
  intervals touch, wherever each is filed, and the target's rows of those keys are made equal
  to them. The changes are staged first (:func:`stage_changes`: what they touch is known before
  anything is written, so a task can take the locks they need) and then applied
  (:func:`apply_changes`); :func:`preview_changes` says what they would touch without staging.
  Where every change is an insert (nothing filed under the intervals yet, no key in the target:
  a first load), :func:`insert_new` writes them with one plain insert instead.

Identifiers are quoted (:func:`quote_identifier`) before they reach the template; values only
ever travel as bound parameters (``%(starts)s``, ``%(hours)s``, ``%(revenue_pattern)s``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg2.errors
import psycopg2.extensions

from playstudio_luigi.db.sql import render
from playstudio_luigi.quality.revenue import SQL_REVENUE_PATTERN
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
class ByKey:
    """Materialise by ``key`` instead of by interval: a row's key may be touched by intervals
    other than the one it is filed under (a transaction whose first copy lies elsewhere).

    The target's rows of the keys the model yields (wherever filed), and those filed under the
    intervals, are made equal to the model's rows: a row that differs is updated in place (it
    may move to another interval), a new key is inserted, a row filed under the intervals whose
    key the model no longer yields is deleted, and an equal row is left alone (a rerun writes
    nothing). ``touched`` is set to ``now()`` on every row written."""

    key: str
    touched: str | None = None


@dataclass(frozen=True)
class Changes:
    """What materialising a by-key model changes: rows per kind of change, and the interval
    column's values of every changed row, before and after (a moved row has both)."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    intervals: frozenset[datetime] = frozenset()

    def outside(self, starts: Sequence[datetime]) -> set[datetime]:
        """The changed rows' intervals that are not among ``starts``."""
        return set(self.intervals) - set(starts)


class ConcurrentChangeError(RuntimeError):
    """Staged changes no longer fit the target when applied (another transaction wrote one of
    the keys in between): the transaction must roll back and stage them again."""


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
    #: Materialised by key (see :class:`ByKey`) rather than by interval.
    by_key: ByKey | None = None
    #: Columns of the inserted rows that :func:`materialize` returns.
    returning: tuple[str, ...] = ()
    #: Jinja context of the model template (identifiers only; never values).
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Bound parameters the model always needs.
    params: Mapping[str, Any] = field(default_factory=dict)

    def _identifiers(self) -> dict[str, Any]:
        if not self.interval_param.isidentifier():
            raise ValueError(f"not a parameter name: {self.interval_param!r}")
        return {
            "model_template": self.template,
            "target": quote_identifier(self.target),
            "interval_column": quote_identifier(self.interval_column),
            "interval_param": self.interval_param,
            "columns": [quote_identifier(c) for c in self.columns],
            **self.context,
        }

    def render(self) -> str:
        """The wrapper around the model: one delete and one insert statement (a model
        materialised by interval)."""
        if self.by_key is not None:
            raise ValueError(f"{self.target} is materialised by key: stage and apply changes")
        return render(
            WRAPPER,
            returning=[quote_identifier(c) for c in self.returning],
            **self._identifiers(),
        )

    def render_by_key(self, template: str, **context: Any) -> str:
        """One of the by-key wrappers (``sql/_by_key/<template>``) around the model."""
        if self.by_key is None:
            raise ValueError(f"{self.target} is materialised by interval")
        return render(
            f"_by_key/{template}",
            key=quote_identifier(self.by_key.key),
            touched=quote_identifier(self.by_key.touched) if self.by_key.touched else None,
            staged=quote_identifier(self.changes_table),
            **self._identifiers(),
            **context,
        )

    @property
    def changes_table(self) -> str:
        """The temporary table (dropped at commit) that holds staged by-key changes."""
        return f"pg_temp.{self.target.split('.')[-1]}_changes"

    def bound(self, intervals: Sequence[datetime], params: Mapping[str, Any]) -> dict[str, Any]:
        """The bound parameters of the model for ``intervals`` (plus ``params``)."""
        return {**self.params, **params, self.interval_param: list(intervals)}


def materialize(
    cursor: psycopg2.extensions.cursor,
    model: Model,
    intervals: Sequence[datetime],
    **params: Any,
) -> list[tuple[Any, ...]]:
    """Replace ``model.target``'s rows of ``intervals`` by the model's rows; return the
    ``returning`` columns of the inserted rows (none without ``returning``)."""
    cursor.execute(model.render(), model.bound(intervals, params))
    return cursor.fetchall() if model.returning else []


def _changes(row: tuple[int, int, int, list[datetime]]) -> Changes:
    inserted, updated, deleted, intervals = row
    return Changes(inserted, updated, deleted, frozenset(intervals))


def preview_changes(
    cursor: psycopg2.extensions.cursor,
    model: Model,
    intervals: Sequence[datetime],
    **params: Any,
) -> Changes:
    """What materialising by-key ``model`` for ``intervals`` would change now; nothing is
    written (a task asks before its transaction, to know which locks to take)."""
    statement = model.render_by_key("summary.sql", staged_only=False)
    cursor.execute(statement, model.bound(intervals, params))
    return _changes(cursor.fetchone())


def stage_changes(
    cursor: psycopg2.extensions.cursor,
    model: Model,
    intervals: Sequence[datetime],
    **params: Any,
) -> Changes:
    """Compute the changes that materialising by-key ``model`` for ``intervals`` makes, into a
    temporary table of the transaction (:attr:`Model.changes_table`), and say what they touch.
    Nothing in the target is written until :func:`apply_changes`."""
    cursor.execute(model.render_by_key("stage.sql"), model.bound(intervals, params))
    cursor.execute(model.render_by_key("summary.sql", staged_only=True))
    return _changes(cursor.fetchone())


def apply_changes(cursor: psycopg2.extensions.cursor, model: Model, staged: Changes) -> None:
    """Apply the changes :func:`stage_changes` staged in this transaction;
    :class:`ConcurrentChangeError` if the target no longer takes them as staged."""
    cursor.execute(model.render_by_key("apply.sql"))
    inserted, updated, deleted = cursor.fetchone()
    applied = (inserted, updated, deleted)
    if applied != (staged.inserted, staged.updated, staged.deleted):
        raise ConcurrentChangeError(
            f"{model.target}: staged {staged.inserted} insert(s), {staged.updated} update(s) "
            f"and {staged.deleted} delete(s), applied {inserted}, {updated} and {deleted}: "
            "another transaction wrote some of these keys meanwhile"
        )


def insert_new(
    cursor: psycopg2.extensions.cursor,
    model: Model,
    intervals: Sequence[datetime],
    **params: Any,
) -> Changes | None:
    """Materialise by-key ``model`` for ``intervals`` with one plain insert, when that is all
    the by-key changes would be: nothing filed under the intervals yet, none of the model's
    keys in the target. Returns the changes made, or None having written nothing (rows are
    filed there, or a key is already in the target, wherever filed): stage and apply instead.

    A first load skips staging the changes and joining them with the target's rows. A key
    that a concurrent transaction inserts waits for it to commit and then clashes like the
    others (:func:`stage_changes` then sees that row)."""
    bound = model.bound(intervals, params)
    cursor.execute(model.render_by_key("filed.sql"), bound)
    if cursor.fetchone()[0]:
        return None
    cursor.execute("savepoint by_key_insert")
    try:
        cursor.execute(model.render_by_key("insert.sql"), bound)
    except psycopg2.errors.UniqueViolation:
        cursor.execute("rollback to savepoint by_key_insert")
        return None
    inserted, filed = cursor.fetchone()
    cursor.execute("release savepoint by_key_insert")
    return Changes(inserted=inserted, intervals=frozenset(filed))


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
    by_key=ByKey(key="transaction_id", touched="loaded_at"),
    params={"revenue_pattern": SQL_REVENUE_PATTERN},
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
