-- Listed exports that cannot be read, as a whole (sheet null) or one sheet of them, with why.
select l.path, l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode, f.sha256, f.error, s.sheet, s.error
from pg_temp.catalog_listing as l
inner join ops.source_files as f
    on f.source = %(source)s
    and f.path = l.path
    and (f.size_bytes, f.mtime_ns, f.ctime_ns, f.inode)
    = (l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode)
left join ops.source_sheets as s
    on s.sha256 = f.sha256
    and s.error is not null
where f.error is not null
    or s.error is not null
order by l.path, s.sheet
