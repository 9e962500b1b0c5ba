-- One sheet's health after a check (decided by playstudio_luigi.alerts.stale.transition).
update ops.source_health
set
    watermark = %(watermark)s,
    newest_file = %(newest_file)s,
    waiting_intervals = %(waiting_intervals)s,
    checked_at = %(checked_at)s,
    stale_since = %(stale_since)s,
    alerted_at = %(alerted_at)s,
    alert_delivered_at = %(alert_delivered_at)s,
    recovered_at = %(recovered_at)s,
    held_by = %(held_by)s
where sheet = %(sheet)s
