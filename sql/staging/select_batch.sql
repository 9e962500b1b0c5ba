-- An interval's staged rows, as validation sees them. Grain: one row per source row.
select
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
where interval_start = %(interval_start)s
order by source_row
