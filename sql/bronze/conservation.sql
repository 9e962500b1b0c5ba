-- Conservation for one interval and sheet: every staged source row is either in bronze or in
-- quarantine. Recorded in ops.interval_loads, whose check constraint refuses any imbalance.
with counts as (
    select
        (select count(*) from staging.{{ staging_table }}
            where interval_start = %(interval_start)s) as source_rows,
        (select count(*) from bronze.{{ table }}
            where interval_start = %(interval_start)s) as loaded_rows,
        (select count(*) from ops.quarantine
            where sheet = %(sheet)s and interval_start = %(interval_start)s) as quarantined_rows,
        (select count(distinct {{ distinct_key }}) from bronze.{{ table }}
            where interval_start = %(interval_start)s) as distinct_rows,
        (select min(source_sha256) from staging.{{ staging_table }}
            where interval_start = %(interval_start)s) as source_sha256
)

insert into ops.interval_loads as loads (
    sheet, interval_start, source_sha256, source_rows, loaded_rows, quarantined_rows,
    distinct_rows, loaded_at
)
select %(sheet)s, %(interval_start)s, source_sha256, source_rows, loaded_rows,
       quarantined_rows, distinct_rows, now()
from counts
on conflict (sheet, interval_start) do update
    set source_sha256 = excluded.source_sha256,
        source_rows = excluded.source_rows,
        loaded_rows = excluded.loaded_rows,
        quarantined_rows = excluded.quarantined_rows,
        distinct_rows = excluded.distinct_rows,
        loaded_at = excluded.loaded_at
returning source_rows, loaded_rows, quarantined_rows, distinct_rows
