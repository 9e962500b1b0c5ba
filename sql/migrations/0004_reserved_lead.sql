-- 0004: PLACEHOLDER on branch `stale` only, so that migration numbers run without gaps until
-- the lead's 0004 lands; delete this file when merging (the real 0004 replaces it).
select 1;
