-- 0005: PLACEHOLDER on branch `stale` only, so that migration numbers run without gaps until
-- the conflicts helper's 0005 lands; delete this file when merging (the real 0005 replaces it).
select 1;
