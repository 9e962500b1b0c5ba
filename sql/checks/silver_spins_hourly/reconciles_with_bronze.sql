-- severity: error
-- description: per key, silver spins = sum of bronze spins
-- Spins are summed, never lost: per key, silver equals the sum of the bronze rows.
{% from "checks/_compare.sql" import compare_aggregates %}
with bronze as (
    select
        interval_start as app_hour,
        ops.trimmed(user_id) as user_id,
        ops.trimmed(country) as country,
        sum(total_spins::numeric) as spins
    from bronze.bronze_spins_hourly
    where interval_start = any(%(hours)s::timestamp[])
    group by 1, 2, 3
),

silver as (
    select app_hour, user_id, country, total_spins as spins
    from silver.silver_spins_hourly
    where app_hour = any(%(hours)s::timestamp[])
)

{{ compare_aggregates('bronze', 'silver', keys=['app_hour', 'user_id', 'country'],
                      measures=['spins'], nulls='distinct') }}
