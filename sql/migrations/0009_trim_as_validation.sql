-- 0009: silver reads ids, users, countries and revenue trimmed of the whitespace validation
-- strips (quality/whitespace.py: the 29 characters of Python's str.isspace and Arrow's trim),
-- not only of spaces (btrim). Before, 'U1' padded with a no-break space passed validation as
-- U1 and reached gold as another user, and a padded transaction id as another transaction.
--
-- ops.trimmed is that trim, in one place; a plain SQL function, so the planner inlines it and
-- bronze's id index (rebuilt below on the new expression) serves the queries that call it.
create or replace function ops.trimmed(value text) returns text
    language sql immutable strict parallel safe
    return btrim(value, E'\u0009\u000A\u000B\u000C\u000D\u001C\u001D\u001E\u001F \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000');

comment on function ops.trimmed(text) is 'A text without the leading and trailing whitespace validation strips (Python''s str.isspace, Arrow''s utf8_trim_whitespace).';

-- The index by which silver finds every copy of a transaction in bronze (0005), on the new
-- expression, and a hash index instead of a B-tree: the ids are UUIDs in random order, so
-- every B-tree insert lands on a random leaf page, and a day of 30,000 purchases spent more in
-- that index than in the heap and primary key together (BENCHMARKS.md, 2026-12-04: a day's
-- insert 279 -> 109 ms with six days loaded). Lookups are by equality only, which is all a
-- hash index answers.
drop index if exists bronze.bronze_purchases_transaction_idx;

create index bronze_purchases_transaction_idx
    on bronze.bronze_purchases using hash (lower(ops.trimmed(transaction_id)));

-- What was built from rows that read differently now is no longer marked done, so that the
-- next run over those intervals (a backfill, a reconcile) rebuilds it: silver of the intervals
-- holding such rows and of those where their ids' rows are filed, and gold of their hours.
-- Nothing is deleted: the rows stay until the rebuild replaces them.
with changed_purchases as (
    select interval_start, lower(btrim(transaction_id)) as old_id
    from bronze.bronze_purchases
    where btrim(transaction_id) <> ops.trimmed(transaction_id)
       or btrim(user_id) <> ops.trimmed(user_id)
       or btrim(revenue) <> ops.trimmed(revenue)
),

purchase_intervals as (
    select interval_start from changed_purchases
    union
    select silver.interval_start
    from silver.silver_purchases as silver
    join changed_purchases on changed_purchases.old_id = silver.transaction_id
),

spin_hours as (
    select distinct interval_start
    from bronze.bronze_spins_hourly
    where btrim(user_id) <> ops.trimmed(user_id)
       or btrim(country) <> ops.trimmed(country)
),

stale as (
    select 'SilverPurchases' as task_family, interval_start from purchase_intervals
    union
    select 'SilverSpins', interval_start from spin_hours
    union
    select 'GoldAggregate', date_trunc('hour', interval_start) from purchase_intervals
    union
    select 'GoldAggregate', interval_start from spin_hours
)

delete from ops.task_markers as markers
using stale
where markers.task_family = stale.task_family
  and markers.interval_start = stale.interval_start;
