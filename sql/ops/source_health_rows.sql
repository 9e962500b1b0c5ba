-- A row of ops.source_health for every reported sheet that has none yet, so that the lock
-- below always has a row to take (a concurrent first insert waits here, then does nothing).
insert into ops.source_health (sheet, checked_at)
select sheet, %(now)s
from unnest(%(sheets)s::text[]) as reported (sheet)
on conflict (sheet) do nothing
