-- 0005: conflicting duplicates are decided in silver, over everything loaded, instead of at
-- parse time over one workbook (a feed of many files cannot see the others there). Conflict
-- losers are valid rows: they stay in bronze; silver keeps the first copy of each id.
--
-- The staged conflict column is gone: staging is transient, and nothing reads it any more.
alter table staging.extract_purchases drop column if exists conflicts_with_row;

-- Silver looks up every copy of the ids an interval touches, in all of bronze: one index
-- probe per id (the expression is the one silver compares ids by), not a scan of history.
create index if not exists bronze_purchases_transaction_idx
    on bronze.bronze_purchases (lower(btrim(transaction_id)));

comment on column silver.silver_purchases.interval_start is '5-minute interval of event_time (the interval its winning copy was loaded for).';
comment on column silver.silver_purchases.source_path is 'Path of the source file of the winning copy.';
comment on column silver.silver_purchases.source_sha256 is 'SHA-256 of the source file version of the winning copy.';
comment on column silver.silver_purchases.source_row is 'Source row of the winning copy: the first by event time, then file, then row.';
comment on column silver.silver_purchases.source_copies is 'Exact copies in bronze (the winner included): same id, event time, user and revenue.';
