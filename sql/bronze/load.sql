-- Bronze for a set of intervals: the staged rows that validation accepted, values untouched.
-- Grain: one row per accepted source row.
with staged as (
    select *
    from staging.{{ staging_table }}
    where interval_start = any(%(starts)s::timestamp[])
),

quarantined as (
    select interval_start, source_path, source_sha256, source_row
    from ops.quarantine
    where sheet = %(sheet)s
      and interval_start = any(%(starts)s::timestamp[])
),

final as (
    select
        staged.interval_start,
        staged.event_time,
        staged.user_id,
{% for column in value_columns %}
        staged.{{ column }},
{% endfor %}
        staged.source_path,
        staged.source_sha256,
        %(sheet)s as source_sheet,
        staged.source_row,
        staged.extracted_at
    from staged
    where not exists (
        select 1 from quarantined
        where quarantined.interval_start = staged.interval_start
          and quarantined.source_path = staged.source_path
          and quarantined.source_sha256 = staged.source_sha256
          and quarantined.source_row = staged.source_row
    )
)

select * from final
