-- Per hour of [start, stop): source rows and quarantined rows of the loads, and how many checks
-- ran and failed (latest result per check and interval).
with loads as (
    select
        date_trunc('hour', interval_start) as hour,
        sum(source_rows) as source_rows,
        sum(quarantined_rows) as quarantined_rows
    from ops.interval_loads
    where interval_start >= %(start)s
      and interval_start < %(stop)s
    group by date_trunc('hour', interval_start)
),

latest_checks as (
    select distinct on (layer, check_name, interval_start)
        interval_start,
        status
    from ops.check_results
    where interval_start >= %(start)s
      and interval_start < %(stop)s
    order by layer, check_name, interval_start, checked_at desc, check_result_id desc
),

checks as (
    select
        date_trunc('hour', interval_start) as hour,
        count(*) as checks,
        count(*) filter (where status = 'fail') as failed_checks
    from latest_checks
    group by date_trunc('hour', interval_start)
)

select
    coalesce(loads.hour, checks.hour) as hour,
    coalesce(loads.source_rows, 0) as source_rows,
    coalesce(loads.quarantined_rows, 0) as quarantined_rows,
    coalesce(checks.checks, 0) as checks,
    coalesce(checks.failed_checks, 0) as failed_checks
from loads
full join checks on checks.hour = loads.hour
order by hour
