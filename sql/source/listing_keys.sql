-- The sync's snapshot, as two sorted arrays of 64-bit keys: every listed file's (path, version)
-- (version '' when it cannot be read), and the paths of the readable ones. A later question
-- keeps only the catalog rows of this snapshot (source/catalog.py::Catalog).
select
    coalesce(array_agg(hashtextextended(f.path || chr(9) || coalesce(f.sha256, ''), 0)), '{}'),
    coalesce(
        array_agg(hashtextextended(f.path, 0)) filter (where f.sha256 is not null and f.error is null),
        '{}'
    )
from pg_temp.catalog_listing as l
inner join ops.source_files as f
    on f.source = %(source)s
    and f.path = l.path
    and (f.size_bytes, f.mtime_ns, f.ctime_ns, f.inode)
    = (l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode)
