-- Runs one check: its template selects the failing rows; this counts them and keeps a sample.
with failing as (
{% include check_template %}
)

select
    (select count(*) from failing) as failing_rows,
    coalesce(
        (select json_agg(sample) from (select * from failing limit 5) as sample),
        '[]'::json
    ) as sample
