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
