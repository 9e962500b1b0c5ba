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
