-- Silver spins of a set of hours. Grain: one row per (app_hour, user_id, country);
-- rows repeating the same key are summed.
delete from silver.silver_spins_hourly
where app_hour = any(%(hours)s::timestamp[]);

with bronze as (
    select *
    from bronze.bronze_spins_hourly
    where interval_start = any(%(hours)s::timestamp[])
),

final as (
    select
        date_trunc('hour', event_time) as app_hour,
        btrim(user_id) as user_id,
        btrim(country) as country,
        sum(total_spins::numeric) as total_spins,
        count(*) as source_rows,
        min(source_sha256) as source_sha256
    from bronze
    group by 1, 2, 3
)

insert into silver.silver_spins_hourly (
    app_hour, user_id, country, total_spins, source_rows, source_sha256
)
select * from final;
