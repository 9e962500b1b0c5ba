-- 0003: a check result records every interval it judged. Bulk runs (a backfill's day) check
-- hundreds of intervals in one statement; recorded under the first interval alone, the data
-- docs counted 2 intervals for a two-day backfill of 576.
alter table ops.check_results add column if not exists interval_starts timestamp[];

comment on column ops.check_results.interval_starts is 'Every interval the result judged (a bulk run judges many at once); null on rows from before 0003: interval_start alone.';
comment on column ops.check_results.interval_start is 'Interval checked (the first, when interval_starts lists several).';
