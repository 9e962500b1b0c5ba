-- Staged rows of a set of intervals, as validation sees them. Grain: one row per source row.
select
    interval_start,
    source_row,
    event_time,
    user_id,
{% for column in value_columns %}
    {{ column }},
{% endfor %}
    cell_errors,
    source_path,
    source_sha256
from staging.{{ table }}
where interval_start = any(%(starts)s::timestamp[])
order by interval_start, source_path, source_row
