-- The warehouse schema of commit 0a4a904 (v1, the first landed schema), rendered from
-- git show 0a4a904:sql/schema/*.sql in file order. Frozen: an upgrade fixture, never edited.

-- sql/schema/00_schemas.sql
-- Layers, plus `ops` for markers, quarantine and run metadata and `staging` for extracts.
create schema if not exists staging;
create schema if not exists bronze;
create schema if not exists silver;
create schema if not exists gold;
create schema if not exists ops;

-- sql/schema/10_ops.sql
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

-- sql/schema/20_staging.sql
-- Extracted interval slices as read from the workbook, cells as text, before validation.
-- Grain: one row per source row of an interval.
create table if not exists staging.extract_purchases (
    interval_start  timestamp   not null,
    source_row      integer     not null,
    event_time      timestamp,
    user_id         text,
    revenue         text,
    transaction_id  text,
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

-- sql/schema/30_bronze.sql
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

-- sql/schema/40_silver.sql
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

-- sql/schema/50_gold.sql
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
