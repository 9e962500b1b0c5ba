-- severity: error
-- description: total_revenue_hourly = avg x count, to the cent
-- total_revenue_hourly = avg_revenue_per_purchase_hourly x amount_purchases_hourly, to the cent.
select app_hour, user_id, total_revenue_hourly, avg_revenue_per_purchase_hourly,
       amount_purchases_hourly
from gold.aggregated_final_table
where app_hour = any(%(hours)s::timestamp[])
  and round(avg_revenue_per_purchase_hourly * amount_purchases_hourly, 2)
      <> total_revenue_hourly
