-- Every readable file of one source with what it holds of one sheet, by path, with its
-- snapshot keys. Proportional to the source's history: for tools, not for a run's questions.
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select f.path, f.size_bytes, f.mtime_ns, f.ctime_ns, f.inode, f.sha256,
    {{ path_key("f") }}, {{ version_key("f") }},
    s.source_rows, s.undated_rows, s.first_event, s.last_event
from ops.source_files as f
inner join ops.source_sheets as s on s.sha256 = f.sha256
where f.source = %(source)s
    and f.error is null
    and s.sheet = %(sheet)s
    and s.error is null
order by f.path
