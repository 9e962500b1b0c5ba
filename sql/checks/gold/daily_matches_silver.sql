-- Every gold row of the day carries the user's revenue over the whole day in silver.
with silver as (
    select user_id, sum(revenue) as daily
    from silver.silver_purchases
    where app_hour >= %(day)s
      and app_hour < %(day)s::timestamp + interval '1 day'
    group by user_id
)

select gold.app_hour, gold.user_id, gold.total_revenue_per_user_daily, silver.daily
from gold.aggregated_final_table as gold
left join silver on silver.user_id = gold.user_id
where gold.app_hour >= %(day)s
  and gold.app_hour < %(day)s::timestamp + interval '1 day'
  and gold.total_revenue_per_user_daily <> coalesce(silver.daily, 0)
