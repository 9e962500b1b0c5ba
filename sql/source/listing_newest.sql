-- Per sheet, the newest readable listed export holding it (its watermark before the cap at
-- now), and the range of event times the readable listed exports hold of it.
{% from "source/_snapshot.sql" import listed_as_cataloged, path_key, version_key %}
with readable as (
    select s.sheet, l.path, l.mtime_ns, s.error, s.first_event, s.last_event
    from pg_temp.catalog_listing as l
    {{ listed_as_cataloged("l", "f") | indent(4) }}
    inner join ops.source_sheets as s on s.sha256 = f.sha256
    where f.error is null
),

newest as (
    select distinct on (sheet) sheet, path, mtime_ns
    from readable
    where error is null
    order by sheet, mtime_ns desc, path
),

bounds as (
    select sheet, min(first_event) as first_event, max(last_event) as last_event
    from readable
    group by sheet
)

select b.sheet, n.path, n.mtime_ns, b.first_event, b.last_event
from bounds as b
left join newest as n on n.sheet = b.sheet
order by b.sheet
