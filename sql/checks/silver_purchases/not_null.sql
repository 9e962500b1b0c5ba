-- severity: error
-- description: key and values present
-- guaranteed by: not null (transaction_id, event_time, user_id, revenue)
-- Every silver purchase of the interval has its key and values.
select transaction_id, event_time, user_id, revenue
from silver.silver_purchases
where interval_start = any(%(starts)s::timestamp[])
  and (transaction_id is null or event_time is null or user_id is null or revenue is null)
