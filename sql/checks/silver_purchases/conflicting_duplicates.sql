-- severity: warn
-- description: no transaction_id reappears with other content
-- Conflicting duplicates of the transactions loaded for the intervals: bronze copies, in any
-- interval or file, whose event time, user or revenue differ from the copy that won (the
-- first, in silver). They stay in bronze and are left out of silver. Each is shown beside the
-- winner (file, row and values of both); a pair is reported by every run touching its id,
-- whichever of the two arrived last.
with batch_ids as (
    select distinct lower(ops.trimmed(transaction_id)) as transaction_id
    from bronze.bronze_purchases
    where interval_start = any(%(starts)s::timestamp[])
),

winners as (
    -- each id's winner as silver files it, by its primary key (never a scan of all of silver)
    select batch_ids.transaction_id, silver.*
    from batch_ids
    cross join lateral (
        select interval_start, source_path, source_sha256, source_row
        from silver.silver_purchases
        where transaction_id = batch_ids.transaction_id
        offset 0
    ) as silver
),

copies as (
    -- an index probe per id, as in silver/silver_purchases.sql (`offset 0`: never a hash of
    -- all of bronze), each copy marked when it is the winner's row
    select
        winners.transaction_id,
        bronze.*,
        (bronze.interval_start, bronze.source_path, bronze.source_sha256, bronze.source_row)
            = (winners.interval_start, winners.source_path, winners.source_sha256,
               winners.source_row) as is_winner
    from winners
    cross join lateral (
        select
            interval_start,
            event_time,
            ops.trimmed(user_id) as user_id,
            ops.trimmed(revenue) as revenue,
            source_path,
            source_sha256,
            source_row
        from bronze.bronze_purchases
        where lower(ops.trimmed(transaction_id)) = winners.transaction_id
        offset 0
    ) as bronze
),

beside_winner as (
    -- one pass over the copies: each beside its id's winner (when bronze still has it)
    select
        copies.*,
        bool_or(is_winner) over by_id as has_winner,
        first_value(source_path) over by_id as winner_source_path,
        first_value(source_row) over by_id as winner_source_row,
        first_value(event_time) over by_id as winner_event_time,
        first_value(user_id) over by_id as winner_user_id,
        first_value(revenue) over by_id as winner_revenue
    from copies
    window by_id as (
        partition by transaction_id order by is_winner desc
        rows between unbounded preceding and unbounded following
    )
),

final as (
    select
        transaction_id,
        source_path,
        source_row,
        event_time,
        user_id,
        revenue,
        winner_source_path,
        winner_source_row,
        winner_event_time,
        winner_user_id,
        winner_revenue
    from beside_winner
    where has_winner
      and (event_time, user_id, revenue)
        <> (winner_event_time, winner_user_id, winner_revenue)
)

select * from final
order by transaction_id, source_path, source_row
