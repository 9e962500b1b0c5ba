-- Spins are summed, never lost: per key, silver equals the sum of the bronze rows.
with bronze as (
    select interval_start as app_hour, btrim(user_id) as user_id, btrim(country) as country, sum(total_spins::numeric) as spins
    from bronze.bronze_spins_hourly
    where interval_start = any(%(hours)s::timestamp[])
    group by 1, 2, 3
),

silver as (
    select app_hour, user_id, country, total_spins as spins
    from silver.silver_spins_hourly
    where app_hour = any(%(hours)s::timestamp[])
)

select
    coalesce(bronze.app_hour, silver.app_hour) as app_hour,
    coalesce(bronze.user_id, silver.user_id) as user_id,
    coalesce(bronze.country, silver.country) as country,
    bronze.spins as bronze_spins,
    silver.spins as silver_spins
from bronze
full outer join silver
    on silver.app_hour = bronze.app_hour
    and silver.user_id = bronze.user_id
    and silver.country = bronze.country
where bronze.spins is distinct from silver.spins
