-- 0006: the health of the source feed per sheet (DESIGN 3.3, 7): its watermark as the latest
-- run saw it, and the state of a stale episode, so that exactly one machine sends each stale
-- alert and each recovery (decided under this table's row locks, see
-- playstudio_luigi.alerts.stale). New table only: nothing earlier changes.
create table if not exists ops.source_health (
    sheet               text        primary key,
    watermark           timestamp,
    newest_file         text,
    waiting_intervals   integer     not null default 0 check (waiting_intervals >= 0),
    checked_at          timestamp   not null,
    stale_since         timestamp,
    alerted_at          timestamp,
    alert_delivered_at  timestamp,
    recovered_at        timestamp,
    held_by             text
);

comment on table ops.source_health is
    'Health of the source feed per sheet: watermark, newest export, waiting intervals, stale episode and its alerts. Grain: one row per source sheet.';
comment on column ops.source_health.sheet is 'Source sheet (Purchases or Spins Hourly).';
comment on column ops.source_health.watermark is 'Modification time of the newest export holding the sheet (capped at the check time), UTC; null when no export holds it.';
comment on column ops.source_health.newest_file is 'Path of the newest export holding the sheet.';
comment on column ops.source_health.waiting_intervals is 'Intervals of the sheet known to wait for the export at the check.';
comment on column ops.source_health.checked_at is 'When a run last computed the watermark (its clock), UTC.';
comment on column ops.source_health.stale_since is 'Start of the current stale episode (watermark + source_stale_after), UTC; null while the source is fresh.';
comment on column ops.source_health.alerted_at is 'When the current episode''s latest stale alert (first or reminder) was claimed, UTC; null: none yet.';
comment on column ops.source_health.alert_delivered_at is 'When Slack accepted a stale alert of the current episode, UTC; null: none accepted (it is retried).';
comment on column ops.source_health.recovered_at is 'When the latest stale episode ended, UTC.';
comment on column ops.source_health.held_by is 'An unreadable export holding the watermark back (its mtime caps it), if any.';
