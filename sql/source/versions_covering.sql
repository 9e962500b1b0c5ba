-- The readable files of one source holding rows of a sheet in [start, end), by path, each with
-- its snapshot keys (path, then path and version).
select f.path, f.sha256, hashtextextended(f.path, 0),
    hashtextextended(f.path || chr(9) || f.sha256, 0)
from ops.source_sheets as s
inner join ops.source_files as f on f.sha256 = s.sha256
where f.source = %(source)s
    and f.error is null
    and s.sheet = %(sheet)s
    and s.error is null
    and s.first_event < %(end)s
    and s.last_event >= %(start)s
order by f.path
