-- Processed extracts of one sheet in a window, with the fingerprint of the slice they loaded.
select interval_start, details ->> 'slice_sha256' as slice_sha256
from ops.task_markers
where task_family = %(family)s
  and interval_start >= %(start)s
  and interval_start < %(stop)s
order by interval_start
