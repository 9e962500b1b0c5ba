-- The readable files of one source holding rows of a sheet in [start, end), by path, each with
-- its snapshot keys (path, then path and version).
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select f.path, f.sha256, {{ path_key("f") }},
    {{ version_key("f") }}
from ops.source_sheets as s
inner join ops.source_files as f on f.sha256 = s.sha256
where f.source = %(source)s
    and f.error is null
    and s.sheet = %(sheet)s
    and s.error is null
    and s.first_event < %(end)s
    and s.last_event >= %(start)s
order by f.path
