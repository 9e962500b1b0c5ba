-- The source feed's health as the latest runs recorded it. Grain: one row per source sheet.
select
    sheet, watermark, newest_file, waiting_intervals, checked_at, stale_since, alerted_at,
    alert_delivered_at, recovered_at, held_by
from ops.source_health
order by sheet
