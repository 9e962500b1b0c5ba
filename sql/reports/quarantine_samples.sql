-- Quarantined rows of intervals in [start, stop) (and rows without a readable date), newest
-- interval first, a few per sheet.
with ranked as (
    select
        sheet,
        interval_start,
        source_row,
        raw_values,
        reasons,
        row_number() over (partition by sheet order by interval_start desc nulls first, source_row)
            as rank
    from ops.quarantine
    where (interval_start >= %(start)s and interval_start < %(stop)s)
       or interval_start is null
)

select sheet, interval_start, source_row, raw_values, reasons
from ranked
where rank <= %(limit)s
order by sheet, rank
