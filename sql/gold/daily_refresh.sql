-- Operation, not a model: it updates rows that gold/aggregated_final_table.sql materialised,
-- since a day's total is known only once every hour of the day is in (GoldAggregate runs it
-- after the model, under the day's lock).
-- total_revenue_per_user_daily on every gold row of the UTC days [days_from, days_to):
-- the user's revenue over the whole day, from silver. Plain range predicates on app_hour: the
-- planner estimates them well (an expression filter on date_trunc made it expect a handful of
-- rows and pick a nested loop that rescanned silver for every gold row).
with day_rows as (
    select app_hour, user_id, total_revenue_per_user_daily
    from gold.aggregated_final_table
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
),

daily as (
    select date_trunc('day', app_hour) as day, user_id, sum(revenue) as daily_revenue
    from silver.silver_purchases
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
    group by 1, 2
),

final as (
    select
        day_rows.app_hour,
        day_rows.user_id,
        coalesce(daily.daily_revenue, 0)::numeric(14, 2) as daily_revenue
    from day_rows
    left join daily
        on daily.day = date_trunc('day', day_rows.app_hour)
        and daily.user_id = day_rows.user_id
    where day_rows.total_revenue_per_user_daily
        is distinct from coalesce(daily.daily_revenue, 0)::numeric(14, 2)
)

update gold.aggregated_final_table as gold
set total_revenue_per_user_daily = final.daily_revenue,
    updated_at = now()
from final
where gold.app_hour = final.app_hour
  and gold.user_id = final.user_id;
