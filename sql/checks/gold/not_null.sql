-- severity: error
-- description: no null column
-- guaranteed by: not null (user_id, country, total_spins_hourly, total_revenue_hourly, amount_purchases_hourly, avg_revenue_per_purchase_hourly, total_revenue_per_user_daily)
select app_hour, user_id
from gold.aggregated_final_table
where app_hour = any(%(hours)s::timestamp[])
  and (
      user_id is null or country is null or total_spins_hourly is null
      or total_revenue_hourly is null or amount_purchases_hourly is null
      or avg_revenue_per_purchase_hourly is null or total_revenue_per_user_daily is null
  )
