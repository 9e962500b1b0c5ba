-- Operation, not a model: conservation per interval and sheet. Every staged source row is
-- either in bronze or in quarantine; the counts are recorded in ops.interval_loads, whose check
-- constraint refuses any imbalance.
with starts as (
    select unnest(%(starts)s::timestamp[]) as interval_start
),

staged as (
    select interval_start, count(*) as source_rows, min(source_sha256) as source_sha256
    from staging.{{ staging_table }}
    where interval_start = any(%(starts)s::timestamp[])
    group by interval_start
),

loaded as (
    select interval_start, count(*) as loaded_rows,
           count(distinct {{ distinct_key }}) as distinct_rows
    from bronze.{{ table }}
    where interval_start = any(%(starts)s::timestamp[])
    group by interval_start
),

quarantined as (
    select interval_start, count(*) as quarantined_rows
    from ops.quarantine
    where sheet = %(sheet)s
      and interval_start = any(%(starts)s::timestamp[])
    group by interval_start
),

counts as (
    select
        starts.interval_start,
        staged.source_sha256,
        coalesce(staged.source_rows, 0) as source_rows,
        coalesce(loaded.loaded_rows, 0) as loaded_rows,
        coalesce(quarantined.quarantined_rows, 0) as quarantined_rows,
        coalesce(loaded.distinct_rows, 0) as distinct_rows
    from starts
    left join staged on staged.interval_start = starts.interval_start
    left join loaded on loaded.interval_start = starts.interval_start
    left join quarantined on quarantined.interval_start = starts.interval_start
)

insert into ops.interval_loads as loads (
    sheet, interval_start, source_sha256, source_rows, loaded_rows, quarantined_rows,
    distinct_rows, loaded_at
)
select %(sheet)s, interval_start, source_sha256, source_rows, loaded_rows,
       quarantined_rows, distinct_rows, now()
from counts
on conflict (sheet, interval_start) do update
    set source_sha256 = excluded.source_sha256,
        source_rows = excluded.source_rows,
        loaded_rows = excluded.loaded_rows,
        quarantined_rows = excluded.quarantined_rows,
        distinct_rows = excluded.distinct_rows,
        loaded_at = excluded.loaded_at
returning interval_start, source_rows, loaded_rows, quarantined_rows, distinct_rows
