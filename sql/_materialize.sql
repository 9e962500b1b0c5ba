-- Materialises one model by interval (playstudio_luigi/db/models.py): the target table's rows
-- of the given intervals are replaced by the model's rows, in the caller's transaction. The
-- model, a pure `select`, says what a row is; this says how its rows land. Identifiers arrive
-- quoted, values only as bound parameters.
delete from {{ target }}
where {{ interval_column }} = any(%({{ interval_param }})s::timestamp[]);

insert into {{ target }} (
    {{ columns | join(', ') }}
)
select {{ columns | join(', ') }}
from (
{% include model_template %}
) as model
{% if returning %}
returning {{ returning | join(', ') }}
{% endif %}
