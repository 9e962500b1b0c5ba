-- Applies the staged changes of a by-key model (stage.sql) in one statement and counts what it
-- did. Each key has one kind of change, so the three never meet on a row. A key that another
-- transaction inserted meanwhile is not inserted twice: the count then falls short of the
-- staged one, and the caller rolls back (models.ConcurrentChangeError).
with deleted as (
    delete from {{ target }} as target
    using {{ staged }} as changes
    where changes.change = 'delete'
      and target.{{ key }} = changes.{{ key }}
    returning 1
),

updated as (
    update {{ target }} as target
    set
{% for column in columns if column != key %}
        {{ column }} = changes.{{ column }}{{ ',' if not loop.last or touched }}
{% endfor %}
{% if touched %}
        {{ touched }} = now()
{% endif %}
    from {{ staged }} as changes
    where changes.change = 'update'
      and target.{{ key }} = changes.{{ key }}
    returning 1
),

inserted as (
    insert into {{ target }} ({{ columns | join(', ') }})
    select {{ columns | join(', ') }}
    from {{ staged }} as changes
    where changes.change = 'insert'
    on conflict ({{ key }}) do nothing
    returning 1
)

select
    (select count(*) from inserted) as inserted,
    (select count(*) from updated) as updated,
    (select count(*) from deleted) as deleted
