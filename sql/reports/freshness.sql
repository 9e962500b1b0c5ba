-- The end of the newest loaded interval of each sheet.
select
    sheet,
    max(interval_start)
        + case when sheet = 'Purchases' then interval '5 minutes' else interval '1 hour' end
        as loaded_until
from ops.interval_loads
group by sheet
order by sheet
