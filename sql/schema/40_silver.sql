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
