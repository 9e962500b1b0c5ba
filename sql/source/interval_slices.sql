-- The files of one source holding rows of a sheet's intervals, with each slice's fingerprint:
-- an interval's fingerprint combines them (source/catalog.py::combine_fingerprints). Each with
-- its snapshot key (path and version), so a run keeps only the files of its own sync.
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select s.interval_start, f.path, f.sha256, s.fingerprint, s.source_rows,
    {{ version_key("f") }}
from ops.source_slices as s
inner join ops.source_files as f on f.sha256 = s.sha256
where f.source = %(source)s
  and f.error is null
  and s.sheet = %(sheet)s
  and s.interval_start = any(%(starts)s::timestamp[])
order by s.interval_start, f.path
