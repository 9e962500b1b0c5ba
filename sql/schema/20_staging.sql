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
