-- The catalog's files of one source, as last indexed.
select path, size_bytes, mtime_ns, ctime_ns, inode, modified_at, sha256, error
from ops.source_files
where source = %(source)s
