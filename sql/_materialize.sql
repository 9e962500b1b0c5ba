-- Materialises one model (playstudio_luigi/db/models.py): the target table's rows of the given
-- intervals are replaced by the model's rows, in the caller's transaction. The model, a pure
-- `select`, says what a row is; this says how its rows land. Identifiers arrive quoted, values
-- only as bound parameters.
delete from {{ target }}
where {{ interval_column }} = any(%({{ interval_param }})s::timestamp[]);

insert into {{ target }}{{ ' as current' if keep_first }} (
    {{ columns | join(', ') }}
)
select {{ columns | join(', ') }}
from (
{% include model_template %}
) as model
{% if keep_first %}
-- keep first: a row already present under another interval is replaced only by one that sorts
-- before it
on conflict ({{ keep_first.key | join(', ') }}) do update
    set
{% for column in keep_first.updated %}
        {{ column }} = excluded.{{ column }}{{ ',' if not loop.last or keep_first.touched }}
{% endfor %}
{% if keep_first.touched %}
        {{ keep_first.touched }} = now()
{% endif %}
    where ({% for column in keep_first.order %}excluded.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
        < ({% for column in keep_first.order %}current.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
{% endif %}
{% if returning %}
returning {{ returning | join(', ') }}
{% endif %}
