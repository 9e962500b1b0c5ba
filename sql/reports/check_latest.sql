-- Checks on intervals in [start, stop): the latest result of each check on each interval (a
-- re-run replaces the data it judged), summed per check.
with latest as (
    select distinct on (layer, check_name, interval_start)
        layer,
        check_name,
        severity,
        status,
        failing_rows,
        interval_start,
        checked_at,
        sample
    from ops.check_results
    where interval_start >= %(start)s
      and interval_start < %(stop)s
    order by layer, check_name, interval_start, checked_at desc, check_result_id desc
)

select
    layer,
    check_name,
    max(severity) as severity,
    count(*) as intervals,
    count(*) filter (where status = 'fail') as failing_intervals,
    coalesce(sum(failing_rows) filter (where status = 'fail'), 0) as failing_rows,
    max(checked_at) as last_checked_at,
    (array_agg(sample order by interval_start desc) filter (where status = 'fail'))[1]
        as sample
from latest
group by layer, check_name
order by layer, check_name
