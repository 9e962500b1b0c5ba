-- severity: error
-- description: purchase counts and revenue = silver's distinct transactions
-- Per user, gold's purchase count and revenue are silver's distinct transactions of the hour.
{% from "checks/_compare.sql" import compare_aggregates %}
with gold as (
    select app_hour, user_id, amount_purchases_hourly as purchases, total_revenue_hourly as revenue
    from gold.aggregated_final_table
    where app_hour = any(%(hours)s::timestamp[])
),

silver as (
    select app_hour, user_id, count(distinct transaction_id) as purchases, sum(revenue) as revenue
    from silver.silver_purchases
    where app_hour = any(%(hours)s::timestamp[])
    group by app_hour, user_id
)

{{ compare_aggregates('gold', 'silver', keys=['app_hour', 'user_id'],
                      measures=['purchases', 'revenue']) }}
