-- severity: error
-- description: one row per (hour, user, country)
-- guaranteed by: unique (app_hour, user_id, country)
-- One row per (app_hour, user_id, country).
select app_hour, user_id, country, count(*) as copies
from silver.silver_spins_hourly
where app_hour = any(%(hours)s::timestamp[])
group by app_hour, user_id, country
having count(*) > 1
