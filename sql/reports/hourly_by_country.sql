-- Gold per hour and country for app_hour in [start, stop).
select
    app_hour,
    country,
    sum(total_revenue_hourly) as revenue,
    sum(total_spins_hourly) as spins,
    sum(amount_purchases_hourly) as purchases,
    count(*) as users
from gold.aggregated_final_table
where app_hour >= %(start)s
  and app_hour < %(stop)s
group by app_hour, country
order by app_hour, country
