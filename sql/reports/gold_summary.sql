with gold as (
    select *
    from gold.aggregated_final_table
    where app_hour >= %(start)s
      and app_hour < %(stop)s
),

quarantined as (
    select count(*) as quarantined_rows
    from ops.quarantine
    where interval_start >= %(start)s
      and interval_start < %(stop)s
)

select
    count(*) as gold_rows,
    count(distinct gold.app_hour) as hours,
    count(distinct gold.user_id) as users,
    min(gold.app_hour) as first_hour,
    max(gold.app_hour) as last_hour,
    coalesce(sum(gold.total_revenue_hourly), 0) as revenue,
    coalesce(sum(gold.amount_purchases_hourly), 0) as purchases,
    coalesce(sum(gold.total_spins_hourly), 0) as spins,
    (select quarantined_rows from quarantined) as quarantined_rows
from gold
