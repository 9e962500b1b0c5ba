insert into ops.task_runs (
    task_id, task_family, interval_start, status, started_at, duration_seconds, rows_in,
    rows_loaded, rows_quarantined, source_sha256, worker_host, worker_pid, error
) values (
    %(task_id)s, %(task_family)s, %(interval_start)s, %(status)s,
    to_timestamp(%(started_at)s), %(duration_seconds)s, %(rows_in)s, %(rows_loaded)s,
    %(rows_quarantined)s, %(source_sha256)s, %(worker_host)s, %(worker_pid)s, %(error)s
)
