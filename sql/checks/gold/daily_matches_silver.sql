-- severity: error
-- description: daily revenue = silver revenue of the day
-- Every gold row of the day carries the user's revenue over the whole day in silver.
{% from "checks/_compare.sql" import compare_aggregates %}
with gold as (
    select app_hour, date_trunc('day', app_hour) as day, user_id,
           total_revenue_per_user_daily as daily
    from gold.aggregated_final_table
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
),

silver as (
    select date_trunc('day', app_hour) as day, user_id, sum(revenue) as daily
    from silver.silver_purchases
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
    group by 1, 2
)

{{ compare_aggregates('gold', 'silver', keys=['day', 'user_id'], measures=['daily'],
                      join='left', left_columns=['app_hour']) }}
