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

-- Every rejected source row, with every reason (grain: one row per interval, sheet, source row).
create table if not exists ops.quarantine (
    interval_start  timestamp   not null,
    sheet           text        not null,
    source_row      integer     not null,
    source_path     text        not null,
    source_sha256   text        not null,
    raw_values      jsonb       not null,
    reasons         text[]      not null,
    task_family     text        not null,
    quarantined_at  timestamptz not null default now(),
    primary key (sheet, interval_start, source_row)
);
