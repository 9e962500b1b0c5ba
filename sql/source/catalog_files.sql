-- Every file of one source as last indexed, with what it holds of each sheet and its snapshot
-- key (path and version). Proportional to the source's history: for tools, not for a run.
select f.path, f.size_bytes, f.mtime_ns, f.ctime_ns, f.inode, f.sha256, f.error,
    hashtextextended(f.path || chr(9) || coalesce(f.sha256, ''), 0),
    s.sheet, s.source_rows, s.undated_rows, s.first_event, s.last_event, s.error
from ops.source_files as f
left join ops.source_sheets as s on s.sha256 = f.sha256
where f.source = %(source)s
order by f.path, s.sheet
