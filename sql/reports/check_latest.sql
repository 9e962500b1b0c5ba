-- Checks on intervals in [start, stop): the latest result of each check on each interval of
-- each task family (a re-run replaces the data it judged), summed per check. A bulk result judged many intervals
-- (interval_starts); rows from before migration 0003 judged interval_start alone.
with judged as (
    select
        results.check_result_id,
        results.layer,
        results.check_name,
        results.task_family,
        results.severity,
        results.status,
        results.failing_rows,
        judged_start.interval_start,
        results.checked_at,
        results.sample
    from ops.check_results as results
    cross join lateral unnest(
        coalesce(results.interval_starts, array[results.interval_start])
    ) as judged_start (interval_start)
    where results.interval_start < %(stop)s
      and judged_start.interval_start >= %(start)s
      and judged_start.interval_start < %(stop)s
),

latest as (
    select distinct on (layer, check_name, task_family, interval_start)
        check_result_id,
        layer,
        check_name,
        severity,
        status,
        failing_rows,
        interval_start,
        checked_at,
        sample
    from judged
    order by layer, check_name, task_family, interval_start, checked_at desc, check_result_id desc
),

-- A bulk result's failing rows count once, not once per interval it judged.
failing_rows as (
    select layer, check_name, sum(failing_rows) as failing_rows
    from (select distinct on (check_result_id) * from latest) as latest_result
    where status = 'fail'
    group by layer, check_name
),

final as (
    select
        latest.layer,
        latest.check_name,
        max(latest.severity) as severity,
        count(*) as intervals,
        count(*) filter (where latest.status = 'fail') as failing_intervals,
        coalesce(max(failing_rows.failing_rows), 0) as failing_rows,
        max(latest.checked_at) as last_checked_at,
        (
            array_agg(latest.sample order by latest.interval_start desc)
                filter (where latest.status = 'fail')
        )[1] as sample
    from latest
    left join failing_rows using (layer, check_name)
    group by latest.layer, latest.check_name
)

select * from final
order by layer, check_name
