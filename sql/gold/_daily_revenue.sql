-- Each user's revenue per UTC day of [days_from, days_to), from silver: the daily total of gold
-- (included by gold/aggregated_final_table.sql and gold/daily_refresh.sql). Plain range
-- predicates on app_hour: the planner estimates them well (an expression filter on date_trunc
-- made it expect a handful of rows and pick a nested loop that rescanned silver per gold row).
select date_trunc('day', app_hour) as day, user_id, sum(revenue) as daily_revenue
from silver.silver_purchases
where app_hour >= %(days_from)s
  and app_hour < %(days_to)s
group by 1, 2
