-- What the changes of a by-key model touch: how many keys each kind of change has, and the
-- interval column's values of every changed row, before and after (sorted). Read from the
-- staged table (stage.sql) or, with nothing staged, computed on the spot (nothing written).
with changes as (
{% if staged_only %}
    select * from {{ staged }}
{% else %}
{% include "_by_key/changes.sql" %}
{% endif %}
),

filed as (
    select filed_before as interval_value from changes where filed_before is not null
    union
    select filed_after from changes where filed_after is not null
)

select
    (select count(*) from changes where change = 'insert') as inserted,
    (select count(*) from changes where change = 'update') as updated,
    (select count(*) from changes where change = 'delete') as deleted,
    array(select interval_value from filed order by interval_value) as intervals
