-- Catalog rows of the source no longer listed, with their versions, in path order.
select f.path, f.sha256
from ops.source_files as f
where f.source = %(source)s
    and not exists (select 1 from pg_temp.catalog_listing as l where l.path = f.path)
order by f.path
