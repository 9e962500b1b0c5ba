-- severity: error
-- description: one row per (app_hour, user_id)
-- guaranteed by: unique (app_hour, user_id)
-- One row per (app_hour, user_id).
select app_hour, user_id, count(*) as copies
from gold.aggregated_final_table
where app_hour = any(%(hours)s::timestamp[])
group by app_hour, user_id
having count(*) > 1
