-- severity: error
-- description: revenue > 0
-- Money is positive: a purchase of 0 or less is not a purchase.
select transaction_id, revenue
from silver.silver_purchases
where interval_start = any(%(starts)s::timestamp[])
  and revenue <= 0
