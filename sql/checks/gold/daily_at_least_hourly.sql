-- severity: error
-- description: total_revenue_per_user_daily >= total_revenue_hourly
-- A user's daily revenue is at least their revenue in any hour of that day.
select app_hour, user_id, total_revenue_hourly, total_revenue_per_user_daily
from gold.aggregated_final_table
where app_hour >= %(days_from)s
  and app_hour < %(days_to)s
  and total_revenue_per_user_daily < total_revenue_hourly
