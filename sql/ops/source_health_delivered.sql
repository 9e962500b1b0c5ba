-- Slack accepted the stale alert claimed at %(claimed_at)s: no retry. Matches nothing when the
-- episode ended or another run claimed a newer alert meanwhile.
update ops.source_health
set alert_delivered_at = %(claimed_at)s
where sheet = %(sheet)s and alerted_at = %(claimed_at)s and stale_since is not null
