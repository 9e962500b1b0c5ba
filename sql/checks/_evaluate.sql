-- Runs one check: its template selects the failing rows; this counts them and keeps a sample.
with failing as (
{% if check_sql %}
{{ check_sql }}
{% else %}
{% include check_template %}
{% endif %}
)

select
    (select count(*) from failing) as failing_rows,
    coalesce(
        (select json_agg(sample) from (select * from failing limit 5) as sample),
        '[]'::json
    ) as sample
