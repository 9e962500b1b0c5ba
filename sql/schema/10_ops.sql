-- One row per completed task: written in the same transaction as the task's data, so a
-- marker exists if and only if its data does.
create table if not exists ops.task_markers (
    task_family     text        not null,
    interval_start  timestamp   not null,
    task_id         text        not null,
    source_sha256   text,
    details         jsonb       not null default '{}'::jsonb,
    completed_at    timestamptz not null default now(),
    primary key (task_family, interval_start)
);

-- Every rejected source row, with every reason. Grain: one row per (sheet, interval, source
-- row); rows without a readable date belong to no interval and are kept once per source
-- version (interval_start is null).
create table if not exists ops.quarantine (
    quarantine_id   bigint      generated always as identity primary key,
    interval_start  timestamp,
    sheet           text        not null,
    source_row      integer     not null,
    source_path     text        not null,
    source_sha256   text        not null,
    raw_values      jsonb       not null,
    reasons         text[]      not null check (cardinality(reasons) > 0),
    task_family     text        not null,
    quarantined_at  timestamptz not null default now()
);
create unique index if not exists quarantine_interval_row
    on ops.quarantine (sheet, interval_start, source_row) where interval_start is not null;
create unique index if not exists quarantine_undated_row
    on ops.quarantine (sheet, source_sha256, source_row) where interval_start is null;
create index if not exists quarantine_time on ops.quarantine (quarantined_at);

-- Conservation per interval and sheet, written with the bronze load:
-- source_rows = loaded_rows + quarantined_rows; distinct_rows counts loaded rows after exact
-- duplicates collapse.
create table if not exists ops.interval_loads (
    sheet             text        not null,
    interval_start    timestamp   not null,
    source_sha256     text,
    source_rows       integer     not null,
    loaded_rows       integer     not null,
    quarantined_rows  integer     not null,
    distinct_rows     integer     not null,
    loaded_at         timestamptz not null default now(),
    primary key (sheet, interval_start),
    check (source_rows = loaded_rows + quarantined_rows)
);

-- Results of data checks (sql/checks/ and ingest warnings). Grain: one row per check per run.
create table if not exists ops.check_results (
    check_result_id  bigint      generated always as identity primary key,
    checked_at       timestamptz not null default now(),
    task_id          text        not null,
    task_family      text        not null,
    interval_start   timestamp   not null,
    check_name       text        not null,
    layer            text        not null,
    severity         text        not null check (severity in ('error', 'warn')),
    status           text        not null check (status in ('pass', 'fail')),
    failing_rows     integer     not null,
    sample           jsonb       not null default '[]'::jsonb
);
create index if not exists check_results_time on ops.check_results (checked_at);
create index if not exists check_results_interval on ops.check_results (interval_start);

comment on table ops.task_markers is
    'Completion markers: a task is complete when its row is here. Grain: one row per completed (task family, interval).';
comment on column ops.task_markers.task_family is 'Luigi task family whose completion this marks.';
comment on column ops.task_markers.interval_start is 'Start of the interval, UTC.';
comment on column ops.task_markers.task_id is 'Luigi task id of the run that completed it.';
comment on column ops.task_markers.source_sha256 is 'SHA-256 of the source workbook version loaded.';
comment on column ops.task_markers.details is 'Row counts and slice fingerprint of the run (JSON).';
comment on column ops.task_markers.completed_at is 'When the marker was written (commit of the data).';

comment on table ops.quarantine is
    'Every rejected source row with every reason. Grain: one row per rejected (sheet, interval, source row).';
comment on column ops.quarantine.quarantine_id is 'Surrogate key.';
comment on column ops.quarantine.interval_start is 'Interval the row belongs to; null when its date is unreadable.';
comment on column ops.quarantine.sheet is 'Source sheet (Purchases or Spins Hourly).';
comment on column ops.quarantine.source_row is '1-based Excel row number.';
comment on column ops.quarantine.source_path is 'Path of the source workbook.';
comment on column ops.quarantine.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column ops.quarantine.raw_values is 'The raw cells as text, keyed by source header (JSON).';
comment on column ops.quarantine.reasons is 'Every reason the row was rejected.';
comment on column ops.quarantine.task_family is 'Task that quarantined the row.';
comment on column ops.quarantine.quarantined_at is 'When the row was quarantined.';

comment on table ops.interval_loads is
    'Row conservation per load: source rows = loaded rows + quarantined rows. Grain: one row per (sheet, interval).';
comment on column ops.interval_loads.sheet is 'Source sheet.';
comment on column ops.interval_loads.interval_start is 'Start of the interval, UTC.';
comment on column ops.interval_loads.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column ops.interval_loads.source_rows is 'Source rows of the interval.';
comment on column ops.interval_loads.loaded_rows is 'Rows loaded into bronze.';
comment on column ops.interval_loads.quarantined_rows is 'Rows sent to quarantine.';
comment on column ops.interval_loads.distinct_rows is 'Loaded rows after exact duplicates collapse.';
comment on column ops.interval_loads.loaded_at is 'When the bronze load committed.';

comment on table ops.check_results is
    'Results of data checks on silver and gold, and ingest checks. Grain: one row per check per task run.';
comment on column ops.check_results.check_result_id is 'Surrogate key.';
comment on column ops.check_results.checked_at is 'When the check ran.';
comment on column ops.check_results.task_id is 'Luigi task id of the run.';
comment on column ops.check_results.task_family is 'Task family of the run.';
comment on column ops.check_results.interval_start is 'Interval checked.';
comment on column ops.check_results.check_name is 'Check name (see playstudio_luigi.quality.checks).';
comment on column ops.check_results.layer is 'Layer of the check (silver_purchases, silver_spins_hourly, gold, ingest).';
comment on column ops.check_results.severity is 'error fails the task; warn is recorded only.';
comment on column ops.check_results.status is 'pass or fail.';
comment on column ops.check_results.failing_rows is 'Number of rows breaking the rule.';
comment on column ops.check_results.sample is 'Up to five failing rows (JSON).';
