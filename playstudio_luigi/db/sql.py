"""SQL templates: Jinja2 files under ``sql/`` (shipped as ``playstudio_luigi.sql``).

Templates shape the SQL; values are never rendered into it. They travel as psycopg2 bound
parameters (``%(name)s`` in the template), so the database sees them as data.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2


@cache
def _environment() -> jinja2.Environment:
    root = files("playstudio_luigi.sql")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: object) -> str:
    """Render ``template`` (a path under ``sql/``, e.g. ``gold/aggregated_final_table.sql``)."""
    return _environment().get_template(template).render(**context)


def template_names(folder: str) -> list[str]:
    """Sorted template paths in one folder of ``sql/`` (e.g. the schema files, in order)."""
    return sorted(
        name
        for name in _environment().list_templates(extensions=["sql"])
        if name.startswith(f"{folder}/")
    )
