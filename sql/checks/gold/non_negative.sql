-- severity: error
-- description: money and counts >= 0
-- Money and counts are never negative.
select app_hour, user_id, total_spins_hourly, total_revenue_hourly, amount_purchases_hourly,
       avg_revenue_per_purchase_hourly, total_revenue_per_user_daily
from gold.aggregated_final_table
where app_hour = any(%(hours)s::timestamp[])
  and least(
      total_spins_hourly, total_revenue_hourly, amount_purchases_hourly,
      avg_revenue_per_purchase_hourly, total_revenue_per_user_daily
  ) < 0
