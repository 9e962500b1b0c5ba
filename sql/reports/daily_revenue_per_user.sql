-- One row per (UTC day, user) with gold rows in [start, stop): the user's revenue that whole day.
select
    date_trunc('day', app_hour) as day,
    user_id,
    max(total_revenue_per_user_daily) as revenue
from gold.aggregated_final_table
where app_hour >= %(start)s
  and app_hour < %(stop)s
group by date_trunc('day', app_hour), user_id
order by day, user_id
