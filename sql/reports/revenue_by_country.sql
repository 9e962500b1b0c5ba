select country, sum(total_revenue_hourly) as revenue
from gold.aggregated_final_table
where app_hour >= %(start)s
  and app_hour < %(stop)s
group by country
order by revenue desc, country
limit 5
