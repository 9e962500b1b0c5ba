-- Drop one file's catalog row: the next sync indexes it again.
delete from ops.source_files
where source = %(source)s
  and path = %(path)s
