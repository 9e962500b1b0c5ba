-- severity: error
-- description: spins = silver spins, rounded half up
-- Per user, gold's spins are silver's spins of the hour summed over countries, rounded half up;
-- every silver user of the hour has a gold row.
{% from "checks/_compare.sql" import compare_aggregates %}
with gold as (
    select app_hour, user_id, total_spins_hourly as spins
    from gold.aggregated_final_table
    where app_hour = any(%(hours)s::timestamp[])
),

silver as (
    select app_hour, user_id, round(sum(total_spins))::integer as spins
    from silver.silver_spins_hourly
    where app_hour = any(%(hours)s::timestamp[])
    group by app_hour, user_id
)

{{ compare_aggregates('gold', 'silver', keys=['app_hour', 'user_id'], measures=['spins'],
                      left_required=true) }}
