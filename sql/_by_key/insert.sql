-- Materialises a by-key model whose keys are all new to the target, in one plain insert (no
-- staging, no full join with the target's rows): what the by-key changes (changes.sql) come to
-- when nothing is filed under the intervals yet and none of the model's keys is in the target.
-- The caller checks the first (filed.sql) and runs this in a savepoint: a key already there
-- raises a unique violation, and the caller rolls back to the savepoint and stages the changes
-- instead. Counts the rows and lists the intervals they are filed under (sorted).
with inserted as (
    insert into {{ target }} ({{ columns | join(', ') }})
    select {{ columns | join(', ') }}
    from (
{% include model_template %}
    ) as model
    returning {{ interval_column }} as interval_value
)

select
    (select count(*) from inserted) as inserted,
    array(select distinct interval_value from inserted order by interval_value) as intervals
