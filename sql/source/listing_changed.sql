-- Listed files the catalog does not know as listed (new, or another size, mtime, ctime or
-- inode), with the version the catalog had (to forget it), in path order.
select l.path, l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode, f.sha256
from pg_temp.catalog_listing as l
left join ops.source_files as f
    on f.source = %(source)s
    and f.path = l.path
where f.path is null
    or (f.size_bytes, f.mtime_ns, f.ctime_ns, f.inode)
    is distinct from (l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode)
order by l.path
