-- Per user, gold's spins are silver's spins of the hour summed over countries, rounded half up.
with silver as (
    select app_hour, user_id, round(sum(total_spins))::integer as spins
    from silver.silver_spins_hourly
    where app_hour = any(%(hours)s::timestamp[])
    group by app_hour, user_id
),

gold as (
    select app_hour, user_id, total_spins_hourly as spins
    from gold.aggregated_final_table
    where app_hour = any(%(hours)s::timestamp[])
)

select
    coalesce(gold.app_hour, silver.app_hour) as app_hour,
    coalesce(gold.user_id, silver.user_id) as user_id,
    gold.spins as gold_spins,
    silver.spins as silver_spins
from gold
full outer join silver
    on silver.app_hour = gold.app_hour and silver.user_id = gold.user_id
where gold.user_id is null
   or coalesce(gold.spins, 0) <> coalesce(silver.spins, 0)
