-- Files no longer listed: gone from the source. Only rows indexed before the listing began,
-- so a file another run indexed meanwhile (listed after ours) is not removed.
delete from ops.source_files
where source = %(source)s
  and path = any(%(paths)s::text[])
  and indexed_at < %(listed_at)s
