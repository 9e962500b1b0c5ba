"""SQL templates say what they are: models only select, operations say so, checks carry their
severity and description beside their SQL."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from playstudio_luigi.db import models
from playstudio_luigi.db.models import quote_identifier
from playstudio_luigi.db.sql import template_names
from playstudio_luigi.quality import checks
from playstudio_luigi.quality.checks import CHECKS, check_header, check_templates

LAYER_TEMPLATES = [
    name for folder in ("bronze", "silver", "gold") for name in template_names(folder)
]
# Statements a model may not contain: it is one select; materialisation is _materialize.sql's.
WRITES = re.compile(
    r"\b(delete|insert|update|merge|truncate|returning|on\s+conflict)\b|;", re.IGNORECASE
)


def source(template: str) -> str:
    return files("playstudio_luigi.sql").joinpath(template).read_text(encoding="utf-8")


def code(text: str) -> str:
    """The SQL without comments and string literals."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
    text = re.sub(r"--[^\n]*", "", text)
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def is_operation(template: str) -> bool:
    return source(template).startswith("-- Operation, not a model:")


def test_layer_templates_are_models_or_declared_operations():
    operations = {name for name in LAYER_TEMPLATES if is_operation(name)}
    assert operations == {"bronze/conservation.sql", "gold/daily_refresh.sql"}
    assert set(LAYER_TEMPLATES) - operations == {m.template for m in models.MODELS}


@pytest.mark.parametrize(
    "template", sorted({m.template for m in models.MODELS}), ids=lambda name: name
)
def test_model_is_pure(template: str):
    text = source(template)
    assert re.match(r"(--|with\b)", text.lstrip()), "a model opens with its header or `with`"
    header = text[: text.index("\nwith ")]
    assert re.search(r"Grain: one row per", header), "the header states the grain"
    body = code(text)
    assert not WRITES.search(body), f"{template} writes: {WRITES.search(body)[0]!r}"
    assert body.rstrip().endswith("select * from final")
    assert body == body.lower(), "lowercase SQL"


def test_materialisation_deletes_intervals_then_inserts_by_name():
    statement = models.SILVER_PURCHASES.render()
    assert statement.index('delete from "silver"."silver_purchases"') < statement.index(
        'insert into "silver"."silver_purchases"'
    )
    assert 'where "interval_start" = any(%(starts)s::timestamp[]);' in statement
    assert 'on conflict ("transaction_id") do update' in statement
    assert (
        '(excluded."event_time", excluded."source_row")\n'
        '        < (current."event_time", current."source_row")'
    ) in statement
    assert '"transaction_id" = excluded' not in statement  # the key itself is never updated
    assert models.GOLD.render().rstrip().endswith('returning "app_hour"')
    for model in models.MODELS:
        rendered = model.render()
        assert ("on conflict" in rendered) == (model.on_conflict is not None)
        assert ("returning" in rendered) == bool(model.returning)


def test_identifiers_are_quoted():
    assert quote_identifier("gold.aggregated_final_table") == '"gold"."aggregated_final_table"'
    assert quote_identifier('odd"name') == '"odd""name"'
    with pytest.raises(ValueError):
        quote_identifier("silver.")


@pytest.mark.parametrize("template", check_templates(), ids=lambda name: name)
def test_every_check_declares_severity_and_description(template: str):
    severity, description = check_header(source(template), template)
    assert severity in checks.SEVERITIES
    assert description.strip()


def test_checks_are_read_from_their_files_in_a_stable_order():
    assert [c.template for c in CHECKS] == [
        t for layer in checks.LAYER_TABLES for t in check_templates() if t.split("/")[1] == layer
    ]
    assert len({c.qualified_name for c in CHECKS}) == len(CHECKS)


@pytest.mark.parametrize(
    "header",
    [
        "-- description: no severity\nselect 1",
        "-- severity: fatal\n-- description: unknown severity\nselect 1",
        "-- severity: warn\nselect 1",
        "select 1\n-- severity: warn\n-- description: header after the SQL",
        "-- severity: warn\n-- description: 5% (psycopg2 would read a placeholder)\nselect 1",
    ],
)
def test_check_header_refuses_incomplete_metadata(header: str):
    with pytest.raises(ValueError):
        check_header(header)
