-- The sync's snapshot, as two sorted arrays of 64-bit keys: every listed file's (path, version)
-- (version '' when it cannot be read), and the paths of the readable ones. A later question
-- keeps only the catalog rows of this snapshot (source/catalog.py::Catalog).
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
select
    coalesce(array_agg({{ version_key("f") }}), '{}'),
    coalesce(
        array_agg({{ path_key("f") }}) filter (where f.sha256 is not null and f.error is null),
        '{}'
    )
from pg_temp.catalog_listing as l
{{ listed_as_cataloged("l", "f") }}
