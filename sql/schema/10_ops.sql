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
