-- The hours the warehouse has completed work for: the first, and the hour after the last.
select
    date_trunc('hour', min(interval_start)) as first_hour,
    date_trunc('hour', max(interval_start)) + interval '1 hour' as stop_hour
from ops.task_markers
