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
