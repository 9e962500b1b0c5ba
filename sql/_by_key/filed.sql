-- Whether the target holds rows filed under the intervals (then a by-key model may have rows
-- to update or delete there, and is materialised through staged changes).
select exists (
    select 1
    from {{ target }}
    where {{ interval_column }} = any(%({{ interval_param }})s::timestamp[])
)
