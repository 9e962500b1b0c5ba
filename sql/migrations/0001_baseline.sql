-- 0001 baseline: the schema of commit ae1e6ff (the last release before numbered migrations),
-- as idempotent DDL, so that it both creates a fresh warehouse and brings forward any earlier
-- one (which has ops.task_markers but no ops.schema_migrations) keeping every row.
--
-- Landed schema history it absorbs (git log -- sql/schema):
--   0a4a904  v1: ops.quarantine keyed by (sheet, interval_start, source_row), no quarantine_id,
--            interval_start not null, no check on reasons; staging.extract_purchases without
--            conflicts_with_row; no ops.interval_loads, ops.check_results
--   0d30c8f  the above added     f582bfd  ops.schema_version     2711506  ops.task_runs
--   70c6fce  COMMENT ONs only    ae1e6ff  (this file)
-- New tables come from `create ... if not exists`. The two v1 tables whose shape changed are
-- set aside here, recreated below in their current shape (same column order as a fresh
-- install) and refilled from the old rows at the end of this file.

-- Layers, plus `ops` for markers, quarantine and run metadata and `staging` for extracts.
create schema if not exists staging;
create schema if not exists bronze;
create schema if not exists silver;
create schema if not exists gold;
create schema if not exists ops;

-- v1 tables with the old shape: renamed out of the way, their primary key dropped (its index
-- name would clash with the new table's).
do $$
begin
    if to_regclass('ops.quarantine') is not null and not exists (
        select 1 from pg_attribute
        where attrelid = to_regclass('ops.quarantine') and attname = 'quarantine_id'
            and not attisdropped
    ) then
        alter table ops.quarantine rename to quarantine_v1;
        alter table ops.quarantine_v1 drop constraint if exists quarantine_pkey;
    end if;
    if to_regclass('staging.extract_purchases') is not null and not exists (
        select 1 from pg_attribute
        where attrelid = to_regclass('staging.extract_purchases')
            and attname = 'conflicts_with_row' and not attisdropped
    ) then
        alter table staging.extract_purchases rename to extract_purchases_v1;
        alter table staging.extract_purchases_v1 drop constraint if exists extract_purchases_pkey;
    end if;
end
$$;

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
comment on column ops.check_results.check_name is 'Check name (see playstudio_luigi.checks).';
comment on column ops.check_results.layer is 'Layer of the check (silver_purchases, silver_spins_hourly, gold, ingest).';
comment on column ops.check_results.severity is 'error fails the task; warn is recorded only.';
comment on column ops.check_results.status is 'pass or fail.';
comment on column ops.check_results.failing_rows is 'Number of rows breaking the rule.';
comment on column ops.check_results.sample is 'Up to five failing rows (JSON).';

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

-- Extracted interval slices as read from the workbook, cells as text, before validation.
-- Grain: one row per source row of an interval.
create table if not exists staging.extract_purchases (
    interval_start  timestamp   not null,
    source_row      integer     not null,
    event_time      timestamp,
    user_id         text,
    revenue         text,
    transaction_id  text,
    conflicts_with_row integer,
    cell_errors     text,
    source_path     text        not null,
    source_sha256   text        not null,
    extracted_at    timestamptz not null,
    primary key (interval_start, source_row)
);

create table if not exists staging.extract_spins (
    interval_start  timestamp   not null,
    source_row      integer     not null,
    event_time      timestamp,
    user_id         text,
    country         text,
    total_spins     text,
    cell_errors     text,
    source_path     text        not null,
    source_sha256   text        not null,
    extracted_at    timestamptz not null,
    primary key (interval_start, source_row)
);

{% for sheet, table in [('Purchases', 'extract_purchases'), ('Spins Hourly', 'extract_spins')] %}
comment on table staging.{{ table }} is
    'Extracted slice of the {{ sheet }} sheet, cells as text, before validation. Grain: one row per source row of an interval.';
comment on column staging.{{ table }}.interval_start is 'Interval the slice was extracted for.';
comment on column staging.{{ table }}.source_row is '1-based Excel row number.';
comment on column staging.{{ table }}.event_time is 'The date cell, when it is a datetime.';
comment on column staging.{{ table }}.user_id is 'The userId cell as text.';
comment on column staging.{{ table }}.cell_errors is 'Cells that could not be read as their type.';
comment on column staging.{{ table }}.source_path is 'Path of the source workbook.';
comment on column staging.{{ table }}.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column staging.{{ table }}.extracted_at is 'When the slice was extracted.';
{% endfor %}
comment on column staging.extract_purchases.revenue is 'The revenue cell as text, e.g. PriceInUSD=4.99.';
comment on column staging.extract_purchases.transaction_id is 'The transaction_id cell as text.';
comment on column staging.extract_purchases.conflicts_with_row is 'Earlier source row with the same transaction_id and different content.';
comment on column staging.extract_spins.country is 'The country cell as text.';
comment on column staging.extract_spins.total_spins is 'The total_spins cell as text.';

-- Bronze: the source values of every accepted row, exactly as given, with provenance.
-- Grain: one row per accepted source row (exact duplicate purchases included).
create table if not exists bronze.bronze_purchases (
    interval_start  timestamp   not null,
    event_time      timestamp   not null,
    user_id         text        not null,
    revenue         text        not null,
    transaction_id  text        not null,
    source_path     text        not null,
    source_sha256   text        not null,
    source_sheet    text        not null,
    source_row      integer     not null,
    extracted_at    timestamptz not null,
    primary key (interval_start, source_row)
);

create table if not exists bronze.bronze_spins_hourly (
    interval_start  timestamp   not null,
    event_time      timestamp   not null,
    user_id         text        not null,
    country         text        not null,
    total_spins     text        not null,
    source_path     text        not null,
    source_sha256   text        not null,
    source_sheet    text        not null,
    source_row      integer     not null,
    extracted_at    timestamptz not null,
    primary key (interval_start, source_row)
);

{% for sheet, table in [('Purchases', 'bronze_purchases'), ('Spins Hourly', 'bronze_spins_hourly')] %}
comment on table bronze.{{ table }} is
    'Accepted rows of the {{ sheet }} sheet, source values exactly as given, with provenance. Grain: one row per accepted source row.';
comment on column bronze.{{ table }}.interval_start is 'Interval the row was loaded for.';
comment on column bronze.{{ table }}.event_time is 'The date cell (UTC).';
comment on column bronze.{{ table }}.user_id is 'The userId cell, verbatim.';
comment on column bronze.{{ table }}.source_path is 'Path of the source workbook.';
comment on column bronze.{{ table }}.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column bronze.{{ table }}.source_sheet is 'Source sheet name.';
comment on column bronze.{{ table }}.source_row is '1-based Excel row number.';
comment on column bronze.{{ table }}.extracted_at is 'When the slice was extracted.';
{% endfor %}
comment on column bronze.bronze_purchases.revenue is 'The revenue cell verbatim, e.g. PriceInUSD=4.99.';
comment on column bronze.bronze_purchases.transaction_id is 'The transaction_id cell verbatim (exact duplicates kept).';
comment on column bronze.bronze_spins_hourly.country is 'The country cell verbatim.';
comment on column bronze.bronze_spins_hourly.total_spins is 'The total_spins cell verbatim, often fractional.';

-- Silver purchases. Grain: one row per transaction_id.
create table if not exists silver.silver_purchases (
    transaction_id  text          primary key,
    event_time      timestamp     not null,
    app_hour        timestamp     not null,
    interval_start  timestamp     not null,
    user_id         text          not null,
    revenue         numeric(14,2) not null,
    source_path     text          not null,
    source_sha256   text          not null,
    source_sheet    text          not null,
    source_row      integer       not null,
    source_copies   integer       not null,
    loaded_at       timestamptz   not null default now()
);
create index if not exists silver_purchases_interval_idx on silver.silver_purchases (interval_start);
create index if not exists silver_purchases_hour_user_idx on silver.silver_purchases (app_hour, user_id);

-- Silver spins. Grain: one row per (app_hour, user_id, country).
create table if not exists silver.silver_spins_hourly (
    app_hour        timestamp   not null,
    user_id         text        not null,
    country         text        not null,
    total_spins     numeric     not null,
    source_rows     integer     not null,
    source_sha256   text        not null,
    loaded_at       timestamptz not null default now(),
    primary key (app_hour, user_id, country)
);

comment on table silver.silver_purchases is
    'Typed, deduplicated purchases. Grain: one row per transaction_id.';
comment on column silver.silver_purchases.transaction_id is 'Purchase id (UUID, lower case).';
comment on column silver.silver_purchases.event_time is 'Purchase time, UTC, second precision.';
comment on column silver.silver_purchases.app_hour is 'UTC hour of event_time.';
comment on column silver.silver_purchases.interval_start is '5-minute interval of event_time.';
comment on column silver.silver_purchases.user_id is 'Player id, trimmed.';
comment on column silver.silver_purchases.revenue is 'Revenue in USD.';
comment on column silver.silver_purchases.source_path is 'Path of the source workbook.';
comment on column silver.silver_purchases.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column silver.silver_purchases.source_sheet is 'Source sheet name.';
comment on column silver.silver_purchases.source_row is 'First source row of the transaction.';
comment on column silver.silver_purchases.source_copies is 'Exact copies of the row in the source.';
comment on column silver.silver_purchases.loaded_at is 'When the row was written.';

comment on table silver.silver_spins_hourly is
    'Typed spins, summed per key. Grain: one row per (app_hour, user_id, country).';
comment on column silver.silver_spins_hourly.app_hour is 'UTC hour.';
comment on column silver.silver_spins_hourly.user_id is 'Player id, trimmed.';
comment on column silver.silver_spins_hourly.country is 'Two-letter country code.';
comment on column silver.silver_spins_hourly.total_spins is 'Spins of the hour, summed over source rows (not rounded).';
comment on column silver.silver_spins_hourly.source_rows is 'Source rows summed into this row.';
comment on column silver.silver_spins_hourly.source_sha256 is 'SHA-256 of the source workbook version.';
comment on column silver.silver_spins_hourly.loaded_at is 'When the row was written.';

-- Gold. Grain: one row per (app_hour, user_id).
create table if not exists gold.aggregated_final_table (
    app_hour                         timestamp     not null,
    user_id                          text          not null,
    country                          text          not null,
    total_spins_hourly               integer       not null,
    total_revenue_hourly             numeric(14,2) not null,
    amount_purchases_hourly          integer       not null,
    avg_revenue_per_purchase_hourly  numeric       not null,
    total_revenue_per_user_daily     numeric(14,2) not null,
    updated_at                       timestamptz   not null default now(),
    primary key (app_hour, user_id)
);
create index if not exists aggregated_final_table_user_idx
    on gold.aggregated_final_table (user_id, app_hour);

comment on table gold.aggregated_final_table is
    'Hourly metrics per user, with the daily revenue. Grain: one row per (app_hour, user_id).';
comment on column gold.aggregated_final_table.app_hour is 'UTC hour of the events.';
comment on column gold.aggregated_final_table.user_id is 'Player id.';
comment on column gold.aggregated_final_table.country is 'Country with the most spins that hour (ties: alphabetical); UNKNOWN when the user bought but did not spin.';
comment on column gold.aggregated_final_table.total_spins_hourly is 'Sum of the hour''s spins, rounded half up.';
comment on column gold.aggregated_final_table.total_revenue_hourly is 'Sum of deduplicated purchases, USD.';
comment on column gold.aggregated_final_table.amount_purchases_hourly is 'Count of deduplicated purchases.';
comment on column gold.aggregated_final_table.avg_revenue_per_purchase_hourly is 'Revenue / purchases (6 decimals), 0 without purchases.';
comment on column gold.aggregated_final_table.total_revenue_per_user_daily is 'The user''s revenue over the whole UTC day, on every row of that user-day.';
comment on column gold.aggregated_final_table.updated_at is 'When the row was last written.';

-- Fingerprint of the DDL above, so that connections skip DDL when the schema is current.
create table if not exists ops.schema_version (
    fingerprint   text        not null,
    installed_at  timestamptz not null default now()
);

comment on table ops.schema_version is
    'Fingerprint of the installed DDL. Grain: one row.';
comment on column ops.schema_version.fingerprint is 'SHA-256 of the rendered sql/schema templates.';
comment on column ops.schema_version.installed_at is 'When the DDL was installed.';

-- v1 rows, copied into the tables recreated above (every row kept; quarantine_id assigned in
-- the order the rows were quarantined). v1 never wrote an empty reasons array; should one
-- exist, it is recorded as such rather than failing the new check.
do $$
begin
    if to_regclass('ops.quarantine_v1') is not null then
        insert into ops.quarantine (
            interval_start, sheet, source_row, source_path, source_sha256, raw_values, reasons,
            task_family, quarantined_at
        )
        select interval_start, sheet, source_row, source_path, source_sha256, raw_values,
            case when cardinality(reasons) > 0 then reasons
                else array['no reason recorded (v1)'] end,
            task_family, quarantined_at
        from ops.quarantine_v1
        order by quarantined_at, sheet, interval_start, source_row;
        drop table ops.quarantine_v1;
    end if;
    if to_regclass('staging.extract_purchases_v1') is not null then
        insert into staging.extract_purchases (
            interval_start, source_row, event_time, user_id, revenue, transaction_id,
            cell_errors, source_path, source_sha256, extracted_at
        )
        select interval_start, source_row, event_time, user_id, revenue, transaction_id,
            cell_errors, source_path, source_sha256, extracted_at
        from staging.extract_purchases_v1;
        drop table staging.extract_purchases_v1;
    end if;
end
$$;
