-- Spins are summed, never lost: per key, silver equals the sum of the bronze rows.
with bronze as (
    select btrim(user_id) as user_id, btrim(country) as country, sum(total_spins::numeric) as spins
    from bronze.bronze_spins_hourly
    where interval_start = %(hour)s
    group by 1, 2
),

silver as (
    select user_id, country, total_spins as spins
    from silver.silver_spins_hourly
    where app_hour = %(hour)s
)

select
    coalesce(bronze.user_id, silver.user_id) as user_id,
    coalesce(bronze.country, silver.country) as country,
    bronze.spins as bronze_spins,
    silver.spins as silver_spins
from bronze
full outer join silver
    on silver.user_id = bronze.user_id and silver.country = bronze.country
where bronze.spins is distinct from silver.spins
