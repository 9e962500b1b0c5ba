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

comment on table ops.task_runs is
    'Run history of every task. Grain: one row per task run.';
comment on column ops.task_runs.run_id is 'Surrogate key.';
comment on column ops.task_runs.task_id is 'Luigi task id.';
comment on column ops.task_runs.task_family is 'Luigi task family.';
comment on column ops.task_runs.interval_start is 'Start of the interval, UTC.';
comment on column ops.task_runs.status is 'done, failed, or skipped (a concurrent run had done it).';
comment on column ops.task_runs.started_at is 'When the run started.';
comment on column ops.task_runs.finished_at is 'When the run ended.';
comment on column ops.task_runs.duration_seconds is 'Wall-clock duration.';
comment on column ops.task_runs.rows_in is 'Rows read.';
comment on column ops.task_runs.rows_loaded is 'Rows written.';
comment on column ops.task_runs.rows_quarantined is 'Rows quarantined.';
comment on column ops.task_runs.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column ops.task_runs.worker_host is 'Host of the worker.';
comment on column ops.task_runs.worker_pid is 'Process id of the worker.';
comment on column ops.task_runs.error is 'The error of a failed run (secrets masked).';
