-- Silver spins of a set of hours. Grain: one row per (app_hour, user_id, country);
-- rows repeating the same key are summed.
with bronze as (
    select *
    from bronze.bronze_spins_hourly
    where interval_start = any(%(hours)s::timestamp[])
),

final as (
    select
        date_trunc('hour', event_time) as app_hour,
        ops.trimmed(user_id) as user_id,
        ops.trimmed(country) as country,
        sum(total_spins::numeric) as total_spins,
        count(*) as source_rows,
        min(source_sha256) as source_sha256
    from bronze
    group by 1, 2, 3
)

select * from final
