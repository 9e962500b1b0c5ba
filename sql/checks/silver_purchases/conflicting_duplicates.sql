-- severity: warn
-- description: no transaction_id reappears with other content
-- Conflicting duplicates of the transactions loaded for the intervals: bronze copies, in any
-- interval or file, whose event time, user or revenue differ from the copy that won (the
-- first, in silver). They stay in bronze and are left out of silver. Each is shown beside the
-- winner (file, row and values of both); a pair is reported by every run touching its id,
-- whichever of the two arrived last.
with batch_ids as (
    select distinct lower(btrim(transaction_id)) as transaction_id
    from bronze.bronze_purchases
    where interval_start = any(%(starts)s::timestamp[])
),

copies as (
    -- an index probe per id, as in silver/silver_purchases.sql (`offset 0`: never a hash of
    -- all of bronze)
    select batch_ids.transaction_id, bronze.*
    from batch_ids
    cross join lateral (
        select
            interval_start,
            event_time,
            btrim(user_id) as user_id,
            btrim(revenue) as revenue,
            source_path,
            source_sha256,
            source_row
        from bronze.bronze_purchases
        where lower(btrim(transaction_id)) = batch_ids.transaction_id
        offset 0
    ) as bronze
),

winners as (
    select copies.*
    from copies
    inner join silver.silver_purchases as silver
        on silver.transaction_id = copies.transaction_id
        and silver.interval_start = copies.interval_start
        and silver.source_path = copies.source_path
        and silver.source_sha256 = copies.source_sha256
        and silver.source_row = copies.source_row
),

final as (
    select
        copies.transaction_id,
        copies.source_path,
        copies.source_row,
        copies.event_time,
        copies.user_id,
        copies.revenue,
        winners.source_path as winner_source_path,
        winners.source_row as winner_source_row,
        winners.event_time as winner_event_time,
        winners.user_id as winner_user_id,
        winners.revenue as winner_revenue
    from copies
    inner join winners on winners.transaction_id = copies.transaction_id
    where (copies.event_time, copies.user_id, copies.revenue)
        <> (winners.event_time, winners.user_id, winners.revenue)
)

select * from final
order by transaction_id, source_path, source_row
