-- severity: error
-- description: two-letter country codes
-- Accepted values: two upper-case letters.
select app_hour, user_id, country
from silver.silver_spins_hourly
where app_hour = any(%(hours)s::timestamp[])
  and country !~ '^[A-Z]{2}$'
