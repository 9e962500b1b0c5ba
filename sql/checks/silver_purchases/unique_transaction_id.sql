-- severity: error
-- description: one row per transaction_id
-- guaranteed by: unique (transaction_id)
-- One row per transaction_id.
select transaction_id, count(*) as copies
from silver.silver_purchases
where transaction_id in (
    select transaction_id from silver.silver_purchases where interval_start = any(%(starts)s::timestamp[])
)
group by transaction_id
having count(*) > 1
