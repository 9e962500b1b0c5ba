"""Writing rejected source rows to ``ops.quarantine``, with their raw cells and every reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg2.extensions
from psycopg2.extras import Json, execute_values

from playstudio_luigi.db.sql import render
from playstudio_luigi.source.schema import SheetLayout


def _as_text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def quarantine_rows(
    cursor: psycopg2.extensions.cursor,
    layout: SheetLayout,
    batch: pd.DataFrame,
    rejected: dict[int, list[str]],
    task_family: str,
    *,
    undated: bool = False,
) -> int:
    """Insert the ``rejected`` rows of ``batch`` (keyed by source row) into quarantine, each
    under its ``interval_start``.

    ``undated`` rows (no readable date) belong to no interval: they are kept once per source
    version (a second writer of the same version changes nothing).
    """
    if not rejected:
        return 0
    header_of = {field: header for header, field in layout.columns.items()}
    rows = [
        (
            None if undated else record["interval_start"],
            layout.name,
            int(record["source_row"]),
            record["source_path"],
            record["source_sha256"],
            Json({header_of[f]: _as_text(record[f]) for f in layout.fields}),
            rejected[int(record["source_row"])],
            task_family,
        )
        for record in batch[batch["source_row"].isin(rejected.keys())].to_dict("records")
    ]
    execute_values(cursor, render("quarantine/insert.sql", undated=undated), rows)
    return len(rows)
