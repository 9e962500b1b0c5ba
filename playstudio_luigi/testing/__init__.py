"""Helpers for testing jobs built on playstudio_luigi (and for this project's own tests).

* :func:`write_workbook` writes a workbook in the source format from plain Python rows;
* :func:`run` builds tasks with a local scheduler and says whether all succeeded;
* :func:`table_rows` reads a table as sorted tuples, ready to compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import luigi
import openpyxl
import psycopg2.extensions
from luigi.execution_summary import LuigiStatusCode
from psycopg2 import sql

from playstudio_luigi.db.models import GOLD
from playstudio_luigi.source import catalog
from playstudio_luigi.tasks import graph
from playstudio_luigi.testing.sample import PURCHASES_HEADER, SPINS_HEADER

PURCHASE_HEADER = PURCHASES_HEADER
SPIN_HEADER = SPINS_HEADER

#: The columns of ``gold.aggregated_final_table`` that carry business values.
GOLD_COLUMNS = GOLD.columns


def write_workbook(
    path: Path,
    purchases: Iterable[Sequence[Any]] = (),
    spins: Iterable[Sequence[Any]] = (),
    *,
    purchase_header: Sequence[str] = PURCHASE_HEADER,
    spin_header: Sequence[str] = SPIN_HEADER,
    sheets: Sequence[str] = ("Purchases", "Spins Hourly"),
) -> Path:
    """Write ``purchases`` rows ``(date, userId, revenue, transaction_id)`` and ``spins`` rows
    ``(date, userId, country, total_spins[, template cells...])`` to an .xlsx at ``path``."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, header, rows in (
        (sheets[0], purchase_header, purchases),
        (sheets[1], spin_header, spins),
    ):
        if not name:
            continue
        sheet = workbook.create_sheet(name)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
    workbook.save(path)
    return Path(path)


def run(tasks: Sequence[luigi.Task], workers: int = 1) -> bool:
    """Build ``tasks`` with a local scheduler; True when every task succeeded."""
    result = luigi.build(
        list(tasks),
        workers=workers,
        local_scheduler=True,
        detailed_summary=True,
        log_level="WARNING",
    )
    return result.status in (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY)


def table_rows(
    connection: psycopg2.extensions.connection,
    table: str,
    columns: Sequence[str],
) -> list[tuple]:
    """Rows of ``schema.table`` projected on ``columns``, sorted, as tuples."""
    schema, name = table.split(".")
    query = sql.SQL("select {} from {}.{}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier(schema),
        sql.Identifier(name),
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return sorted(cursor.fetchall(), key=lambda row: tuple(map(_sort_key, row)))


def gold_rows(connection: psycopg2.extensions.connection) -> list[tuple]:
    """Every row of ``gold.aggregated_final_table`` (columns :data:`GOLD_COLUMNS`), sorted."""
    return table_rows(connection, "gold.aggregated_final_table", GOLD_COLUMNS)


def _sort_key(value: Any) -> tuple[int, str]:
    return (value is None, str(value))


#: Tables that record runs rather than data, emptied by :func:`reset_warehouse` too.
RUN_TABLES = ("ops.task_markers", "ops.check_results", "ops.task_runs")
#: The catalog of source files (rebuilt from the files by the next run).
CATALOG_TABLES = ("ops.source_files", "ops.source_sheets", "ops.source_slices")


def pipeline_tables() -> list[str]:
    """Every table the pipeline writes (from the task graph), and the run records."""
    pipeline = graph.current()
    written = [table for table, _ in pipeline.tables_written(pipeline.tasks)]
    return [*written, *RUN_TABLES, *CATALOG_TABLES]


def reset_warehouse(connection: psycopg2.extensions.connection) -> None:
    """Empty every pipeline table (schemas stay): a clean slate between test cases."""
    tables = [sql.Identifier(*name.split(".")) for name in pipeline_tables()]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("truncate {}").format(sql.SQL(", ").join(tables)))
    catalog.forget_memo()  # this process's last sync described the rows just removed
