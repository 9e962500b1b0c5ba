-- Run history: one row per task run (done, failed, or skipped because a concurrent run had
-- already done it). A 'done' row is written in the same transaction as the task's marker.
create table if not exists ops.task_runs (
    run_id            bigint        generated always as identity primary key,
    task_id           text          not null,
    task_family       text          not null,
    interval_start    timestamp     not null,
    status            text          not null check (status in ('done', 'failed', 'skipped')),
    started_at        timestamptz   not null,
    finished_at       timestamptz   not null default now(),
    duration_seconds  numeric(12,3) not null,
    rows_in           integer,
    rows_loaded       integer,
    rows_quarantined  integer,
    source_sha256     text,
    worker_host       text          not null,
    worker_pid        integer       not null,
    error             text
);
create index if not exists task_runs_interval on ops.task_runs (task_family, interval_start);
create index if not exists task_runs_finished on ops.task_runs (finished_at);
