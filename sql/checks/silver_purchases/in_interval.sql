-- Each row lies in the interval it is filed under, and app_hour is its event's hour.
select transaction_id, event_time, app_hour, interval_start
from silver.silver_purchases
where interval_start = %(interval_start)s
  and (
      event_time < %(interval_start)s
      or event_time >= %(interval_end)s
      or app_hour <> date_trunc('hour', event_time)
  )
