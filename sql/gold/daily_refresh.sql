-- Operation, not a model: it updates rows that gold/aggregated_final_table.sql materialised,
-- since a day's total is known only once every hour of the day is in (GoldAggregate runs it
-- after the model, under the day's lock).
-- total_revenue_per_user_daily on every gold row of the UTC days [days_from, days_to):
-- the user's revenue over the whole day, from silver. Rows the model inserted are already
-- right; those of the day's other hours change when one hour's purchases do.
with day_rows as (
    select app_hour, user_id, total_revenue_per_user_daily
    from gold.aggregated_final_table
    where app_hour >= %(days_from)s
      and app_hour < %(days_to)s
),

daily as (
{% include "gold/_daily_revenue.sql" %}
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
