-- severity: error
-- description: total_spins >= 0
select app_hour, user_id, country, total_spins
from silver.silver_spins_hourly
where app_hour = any(%(hours)s::timestamp[])
  and (total_spins < 0 or total_spins is null)
