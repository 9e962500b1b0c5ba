-- severity: error
-- description: every bronze transaction is in silver, and silver holds nothing else
-- Every transaction loaded to bronze for the interval is in silver: under this interval, or
-- under another one when its first copy lies there (conflicting duplicates loaded here are
-- in silver as that first copy). And every silver row filed under the interval is a
-- transaction of the interval's bronze.
with bronze_ids as (
    select distinct lower(ops.trimmed(transaction_id)) as transaction_id
    from bronze.bronze_purchases
    where interval_start = any(%(starts)s::timestamp[])
),

missing_from_silver as (
    -- a primary-key probe per id (`offset 0` keeps it one): as an anti-join, a day's ids made
    -- the planner hash all of silver, a cost that grows with history
    select bronze_ids.transaction_id, 'in bronze, not in silver' as problem
    from bronze_ids
    left join lateral (
        select true as found
        from silver.silver_purchases as silver
        where silver.transaction_id = bronze_ids.transaction_id
        offset 0
    ) as silver on true
    where silver.found is null
),

unknown_to_bronze as (
    select silver.transaction_id, 'in silver, not in bronze' as problem
    from silver.silver_purchases as silver
    where silver.interval_start = any(%(starts)s::timestamp[])
      and not exists (
          select 1 from bronze_ids where bronze_ids.transaction_id = silver.transaction_id
      )
)

select * from missing_from_silver
union all
select * from unknown_to_bronze
