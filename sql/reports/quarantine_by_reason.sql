-- Quarantined rows by kind of reason (quoted values and numbers elided): those quarantined
-- since a moment, or with by_interval those of intervals in [start, stop) plus the rows
-- without a readable date (they belong to no interval).
with reasons as (
    select sheet, unnest(reasons) as reason
    from ops.quarantine
{% if by_interval is defined and by_interval %}
    where (interval_start >= %(start)s and interval_start < %(stop)s)
       or interval_start is null
{% else %}
    where quarantined_at >= %(since)s
{% endif %}
),

kinds as (
    select
        sheet,
        regexp_replace(
            regexp_replace(reason, '''[^'']*''|"[^"]*"', '…', 'g'),
            '[0-9][0-9:. -]*[0-9]|[0-9]', '…', 'g'
        ) as kind
    from reasons
)

select sheet, kind, count(*) as rows
from kinds
group by sheet, kind
order by rows desc, sheet, kind
