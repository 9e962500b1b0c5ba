-- Every gold row of the day carries the user's revenue over the whole day in silver.
with silver as (
    select date_trunc('day', app_hour) as day, user_id, sum(revenue) as daily
    from silver.silver_purchases
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
    group by 1, 2
)

select gold.app_hour, gold.user_id, gold.total_revenue_per_user_daily, silver.daily
from gold.aggregated_final_table as gold
left join silver
    on silver.day = date_trunc('day', gold.app_hour) and silver.user_id = gold.user_id
where gold.app_hour >= %(days_from)s
  and gold.app_hour < %(days_to)s
  and gold.total_revenue_per_user_daily <> coalesce(silver.daily, 0)
