-- Per user, gold's purchase count and revenue are silver's distinct transactions of the hour.
with silver as (
    select app_hour, user_id, count(distinct transaction_id) as purchases, sum(revenue) as revenue
    from silver.silver_purchases
    where app_hour = any(%(hours)s::timestamp[])
    group by app_hour, user_id
),

gold as (
    select app_hour, user_id, amount_purchases_hourly as purchases, total_revenue_hourly as revenue
    from gold.aggregated_final_table
    where app_hour = any(%(hours)s::timestamp[])
)

select
    coalesce(gold.app_hour, silver.app_hour) as app_hour,
    coalesce(gold.user_id, silver.user_id) as user_id,
    gold.purchases as gold_purchases,
    silver.purchases as silver_purchases,
    gold.revenue as gold_revenue,
    silver.revenue as silver_revenue
from gold
full outer join silver
    on silver.app_hour = gold.app_hour and silver.user_id = gold.user_id
where coalesce(gold.purchases, 0) <> coalesce(silver.purchases, 0)
   or coalesce(gold.revenue, 0) <> coalesce(silver.revenue, 0)
