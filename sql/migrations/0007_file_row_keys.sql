-- 0007: a source row is named by its file as well (DESIGN 3.1): with a folder of exports, two
-- files both have a row 2 in the same interval. Staged and bronze rows are keyed by
-- (interval, file, row), and quarantine's per-interval uniqueness likewise.
{% for table in ["staging.extract_purchases", "staging.extract_spins", "bronze.bronze_purchases", "bronze.bronze_spins_hourly"] %}
alter table {{ table }} drop constraint if exists {{ table.split(".")[1] }}_pkey;
alter table {{ table }} add constraint {{ table.split(".")[1] }}_pkey
    primary key (interval_start, source_path, source_row);
{% endfor %}

drop index if exists ops.quarantine_interval_row;
create unique index if not exists quarantine_interval_row
    on ops.quarantine (sheet, interval_start, source_path, source_row)
    where interval_start is not null;

comment on column staging.extract_purchases.source_path is 'Path of the export file the row is in.';
comment on column staging.extract_spins.source_path is 'Path of the export file the row is in.';
comment on column staging.extract_purchases.source_sha256 is 'SHA-256 of that file''s version.';
comment on column staging.extract_spins.source_sha256 is 'SHA-256 of that file''s version.';
