-- Silver purchases of a set of 5-minute intervals. Grain: one row per transaction_id.
-- Exact duplicates collapse to one row; if a transaction_id also exists in another interval,
-- the earliest occurrence (event time, then source row) wins, whatever order intervals load in
-- and however many load together (the materialisation keeps the first on conflict).
-- source_copies counts the copies in the winner's interval. The revenue format arrives as the
-- bound parameter revenue_pattern (quality/revenue.py), whose one capture group is the amount.
with bronze as (
    select *
    from bronze.bronze_purchases
    where interval_start = any(%(starts)s::timestamp[])
),

parsed as (
    -- ids are compared trimmed (exports pad them) and UUIDs case-insensitively
    select
        lower(btrim(transaction_id)) as transaction_id,
        event_time,
        date_trunc('hour', event_time) as app_hour,
        interval_start,
        btrim(user_id) as user_id,
        substring(revenue from %(revenue_pattern)s)::numeric(14, 2) as revenue,
        source_path,
        source_sha256,
        source_sheet,
        source_row
    from bronze
),

ranked as (
    select
        parsed.*,
        row_number() over (
            partition by transaction_id order by event_time, source_row
        ) as copy_rank,
        count(*) over (partition by interval_start, transaction_id) as source_copies
    from parsed
),

final as (
    select
        transaction_id, event_time, app_hour, interval_start, user_id, revenue,
        source_path, source_sha256, source_sheet, source_row, source_copies
    from ranked
    where copy_rank = 1
)

select * from final
