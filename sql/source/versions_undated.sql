-- The readable files of one source holding rows of a sheet without a readable date, by path,
-- each with its snapshot keys and how many such rows it holds.
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select f.path, f.sha256, {{ path_key("f") }},
    {{ version_key("f") }}, s.undated_rows
from ops.source_sheets as s
inner join ops.source_files as f on f.sha256 = s.sha256
where f.source = %(source)s
    and f.error is null
    and s.sheet = %(sheet)s
    and s.error is null
    and s.undated_rows > 0
order by f.path
