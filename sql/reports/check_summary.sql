-- Check results since a moment, one row per check.
select
    layer,
    check_name,
    severity,
    count(*) as runs,
    count(*) filter (where status = 'fail') as failed_runs,
    coalesce(sum(failing_rows) filter (where status = 'fail'), 0) as failing_rows,
    max(checked_at) filter (where status = 'fail') as last_failure,
    (array_agg(interval_start order by checked_at desc) filter (where status = 'fail'))[1]
        as last_failed_interval
from ops.check_results
where checked_at >= %(since)s
group by layer, check_name, severity
order by failed_runs desc, severity, layer, check_name
