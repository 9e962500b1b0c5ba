-- Quarantined rows since a moment, by kind of reason (quoted values and numbers elided).
with reasons as (
    select sheet, unnest(reasons) as reason
    from ops.quarantine
    where quarantined_at >= %(since)s
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
