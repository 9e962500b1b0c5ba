-- For one layer's task family and a window: the intervals done (marker present), and those
-- where the latest run of any task of the chain leading to it failed (and no marker since).
with done as (
    select interval_start
    from ops.task_markers
    where task_family = %(family)s
      and interval_start >= %(start)s
      and interval_start < %(stop)s
),

latest_runs as (
    select distinct on (task_family, interval_start)
        interval_start as run_interval,
        status
    from ops.task_runs
    where task_family = any(%(chain)s)
      and interval_start >= %(start)s
      and interval_start < %(stop)s
    order by task_family, interval_start, finished_at desc
),

failed as (
    select distinct
        {% if hourly %}date_trunc('hour', run_interval){% else %}run_interval{% endif %}
            as interval_start
    from latest_runs
    where status = 'failed'
)

select interval_start, 'done' as state from done
union all
select interval_start, 'failed' as state
from failed
where interval_start not in (select interval_start from done)
