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

LAYER_FILES = [name for folder in ("bronze", "silver", "gold") for name in template_names(folder)]
#: Pieces other templates include (``{% include "gold/_daily_revenue.sql" %}``), named ``_*``.
PARTIALS = [name for name in LAYER_FILES if name.rsplit("/", 1)[-1].startswith("_")]
LAYER_TEMPLATES = [name for name in LAYER_FILES if name not in PARTIALS]
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


@pytest.mark.parametrize("partial", PARTIALS)
def test_every_partial_is_included_by_a_layer_template(partial):
    including = [name for name in LAYER_TEMPLATES if f'{{% include "{partial}" %}}' in source(name)]
    assert including, f"{partial} is included nowhere"
    assert not WRITES.search(code(source(partial))), "a partial is a piece of a select"


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


def test_materialisation_by_interval_deletes_intervals_then_inserts_by_name():
    statement = models.SILVER_SPINS.render()
    assert statement.index('delete from "silver"."silver_spins_hourly"') < statement.index(
        'insert into "silver"."silver_spins_hourly"'
    )
    assert 'where "app_hour" = any(%(hours)s::timestamp[]);' in statement
    assert models.GOLD.render().rstrip().endswith('returning "app_hour"')
    for model in models.MODELS:
        if model.by_key is not None:
            with pytest.raises(ValueError, match="by key"):
                model.render()
            continue
        rendered = model.render()
        assert "on conflict" not in rendered
        assert ("returning" in rendered) == bool(model.returning)


def test_materialisation_by_key_stages_then_applies_only_what_differs():
    model = models.SILVER_PURCHASES
    assert model.by_key == models.ByKey(key="transaction_id", touched="loaded_at")
    staged = '"pg_temp"."silver_purchases_changes"'
    stage = model.render_by_key("stage.sql")
    assert f"create temporary table {staged} on commit drop as" in stage
    # the target's rows of the model's keys, wherever filed, and those of the intervals
    assert 'join model on model."transaction_id" = target."transaction_id"' in stage
    assert 'where target."interval_start" = any(%(starts)s::timestamp[])' in stage
    assert "is distinct from" in stage  # equal rows are not rewritten
    apply = model.render_by_key("apply.sql")
    assert apply.count(staged) == 3
    assert 'on conflict ("transaction_id") do nothing' in apply
    assert '"transaction_id" = changes."transaction_id",' not in apply  # the key never changes
    assert '"loaded_at" = now()' in apply
    summary = model.render_by_key("summary.sql", staged_only=True)
    assert f"select * from {staged}" in summary and "with model as" not in summary
    assert "with model as" in model.render_by_key("summary.sql", staged_only=False)
    with pytest.raises(ValueError, match="by interval"):
        models.GOLD.render_by_key("apply.sql")


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
