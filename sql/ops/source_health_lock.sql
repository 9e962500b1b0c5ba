-- The reported sheets' health, locked until the caller commits: concurrent callers take the
-- locks in sheet order (no deadlock) and each decides on the state the previous one left.
select
    sheet, watermark, newest_file, waiting_intervals, checked_at, stale_since, alerted_at,
    alert_delivered_at, recovered_at, held_by
from ops.source_health
where sheet = any(%(sheets)s::text[])
order by sheet
for update
