-- Listed exports that cannot be read, as a whole (sheet null) or one sheet of them, with why.
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select l.path, l.size_bytes, l.mtime_ns, l.ctime_ns, l.inode, f.sha256, f.error, s.sheet, s.error
from pg_temp.catalog_listing as l
{{ listed_as_cataloged("l", "f") }}
left join ops.source_sheets as s
    on s.sha256 = f.sha256
    and s.error is not null
where f.error is not null
    or s.error is not null
order by l.path, s.sheet
