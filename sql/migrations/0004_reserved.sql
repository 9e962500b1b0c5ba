-- 0004: reserved for the lead's migration of issue 15 (source catalog). A placeholder so that
-- this branch's 0005 has no gap; replaced by the lead's 0004 when the branches merge.
select 1;
