-- The rows an extract staged for one interval (what was loaded), in source order.
select {{ columns | join(', ') }}
from staging.{{ table }}
where interval_start = %(interval_start)s
order by source_row
