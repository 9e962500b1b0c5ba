-- severity: error
-- description: rows lie in their interval and hour
-- Each row lies in the interval it is filed under, and app_hour is its event's hour.
select transaction_id, event_time, app_hour, interval_start
from silver.silver_purchases
where interval_start = any(%(starts)s::timestamp[])
  and (
      event_time < interval_start
      or event_time >= interval_start + interval '5 minutes'
      or app_hour <> date_trunc('hour', event_time)
  )
