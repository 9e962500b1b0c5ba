-- Silver purchases of the transactions a set of 5-minute intervals touches, each decided over
-- all of bronze. Grain: one row per transaction_id.
-- The intervals touch the ids of their bronze rows and of the silver rows filed under them (a
-- copy that left their bronze may hand its id to a copy elsewhere, or to none). Ids compare
-- trimmed and case-insensitively (exports pad them; UUIDs). Every bronze row with the id, in any
-- interval and any file, is a copy; the first by (event time, file, row, file version) wins,
-- whatever order files and intervals arrive in, and the row is filed under the winner's
-- interval, which may lie outside the set (the materialisation, by key, moves it there).
-- Copies with the winner's content (event time, user and revenue, trimmed) are exact
-- duplicates: source_copies counts them. Copies with other content are conflicting
-- duplicates: valid rows, kept in bronze, not in silver (the warn check
-- checks/silver_purchases/conflicting_duplicates.sql reports them). The revenue format arrives
-- as the bound parameter revenue_pattern (quality/revenue.py; silver/_revenue_amount.sql).
with touched as (
    select lower(ops.trimmed(transaction_id)) as transaction_id
    from bronze.bronze_purchases
    where interval_start = any(%(starts)s::timestamp[])
    union
    select transaction_id
    from silver.silver_purchases
    where interval_start = any(%(starts)s::timestamp[])
),

copies as (
    -- one index probe per id (bronze_purchases_transaction_idx, a hash index), never a scan of
    -- history: as a join, a day's ids made the planner hash all of bronze (0.4 s at a month,
    -- growing with it); `offset 0` keeps the lateral lookup a lookup
    select
        touched.transaction_id,
        bronze.event_time,
        bronze.interval_start,
        bronze.user_id,
        bronze.revenue,
        bronze.source_path,
        bronze.source_sha256,
        bronze.source_sheet,
        bronze.source_row
    from touched
    cross join lateral (
        select
            event_time,
            interval_start,
            ops.trimmed(user_id) as user_id,
            ops.trimmed(revenue) as revenue,
            source_path,
            source_sha256,
            source_sheet,
            source_row
        from bronze.bronze_purchases
        where lower(ops.trimmed(transaction_id)) = touched.transaction_id
        offset 0
    ) as bronze
),

ranked as (
    select
        copies.*,
        row_number() over first_copy as copy_rank,
        first_value(event_time) over first_copy as first_event_time,
        first_value(user_id) over first_copy as first_user_id,
        first_value(revenue) over first_copy as first_revenue
    from copies
    window first_copy as (
        partition by transaction_id
        order by event_time, source_path, source_row, source_sha256
    )
),

counted as (
    select
        ranked.*,
        count(*) filter (
            where (event_time, user_id, revenue)
                = (first_event_time, first_user_id, first_revenue)
        ) over (partition by transaction_id) as source_copies
    from ranked
),

final as (
    select
        transaction_id,
        event_time,
        date_trunc('hour', event_time) as app_hour,
        interval_start,
        user_id,
        {% include "silver/_revenue_amount.sql" %} as revenue,
        source_path,
        source_sha256,
        source_sheet,
        source_row,
        source_copies
    from counted
    where copy_rank = 1
)

select * from final
