-- Record one export file as indexed now (callers sort by path: no two writers deadlock).
insert into ops.source_files (
    source, path, size_bytes, mtime_ns, ctime_ns, inode, modified_at, sha256, error, indexed_at
)
values (
    %(source)s, %(path)s, %(size)s, %(mtime_ns)s, %(ctime_ns)s, %(inode)s, %(modified_at)s,
    %(sha256)s, %(error)s, now()
)
on conflict (source, path) do update
    set size_bytes = excluded.size_bytes,
        mtime_ns = excluded.mtime_ns,
        ctime_ns = excluded.ctime_ns,
        inode = excluded.inode,
        modified_at = excluded.modified_at,
        sha256 = excluded.sha256,
        error = excluded.error,
        indexed_at = excluded.indexed_at
