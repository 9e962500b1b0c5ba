select task_family, interval_start, duration_seconds, worker_host, finished_at
from ops.task_runs
where status = 'done'
  and finished_at >= %(since)s
order by duration_seconds desc
limit %(limit)s
