-- The changes that make the target's rows of a by-key model's keys equal to the model's rows
-- (playstudio_luigi/db/models.py, ByKey), as the transaction sees the target now. One row per
-- key that changes: the model's columns (for a delete: only the key), `change` (insert,
-- update or delete), and the interval column of the target's row before (filed_before) and
-- of the model's row after (filed_after). Keys whose row is already right do not appear.
with model as (
{% include model_template %}
),

current as (
    -- the target's row of each key the model yields, wherever it is filed ...
    select {% for column in columns %}target.{{ column }}{{ ', ' if not loop.last }}{% endfor %}

    from {{ target }} as target
    join model on model.{{ key }} = target.{{ key }}
    union all
    -- ... and the rows filed under the intervals whose key the model no longer yields
    select {% for column in columns %}target.{{ column }}{{ ', ' if not loop.last }}{% endfor %}

    from {{ target }} as target
    where target.{{ interval_column }} = any(%({{ interval_param }})s::timestamp[])
      and not exists (select 1 from model where model.{{ key }} = target.{{ key }})
),

final as (
    select
{% for column in columns %}
{% if column == key %}
        coalesce(model.{{ column }}, current.{{ column }}) as {{ column }},
{% else %}
        model.{{ column }},
{% endif %}
{% endfor %}
        case
            when current.{{ key }} is null then 'insert'
            when model.{{ key }} is null then 'delete'
            else 'update'
        end as change,
        current.{{ interval_column }} as filed_before,
        model.{{ interval_column }} as filed_after
    from model
    full join current on current.{{ key }} = model.{{ key }}
    where ({% for column in columns %}model.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
        is distinct from ({% for column in columns %}current.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
)

select * from final
