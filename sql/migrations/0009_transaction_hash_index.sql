-- 0009: silver finds every copy of a transaction in bronze through an index on the id as silver
-- compares it (0005). A hash index instead of a B-tree: the ids are UUIDs in random order, so
-- every B-tree insert lands on a random leaf page, and a day of 30,000 purchases spent more in
-- that index than in the heap and primary key together (BENCHMARKS.md, 2026-12-04: a day's
-- insert 279 -> 109 ms with six days loaded). Lookups are by equality only, which is all a
-- hash index answers.
drop index if exists bronze.bronze_purchases_transaction_idx;

create index bronze_purchases_transaction_idx
    on bronze.bronze_purchases using hash (lower(btrim(transaction_id)));
