insert into ops.check_results (
    task_id, task_family, interval_start, check_name, layer, severity, status,
    failing_rows, sample, interval_starts
) values (
    %(task_id)s, %(task_family)s, %(interval_start)s, %(check_name)s, %(layer)s, %(severity)s,
    %(status)s, %(failing_rows)s, %(sample)s, %(interval_starts)s::timestamp[]
)
