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
