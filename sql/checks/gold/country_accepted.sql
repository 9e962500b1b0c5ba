-- severity: error
-- description: two-letter code or UNKNOWN
-- Accepted values: a two-letter code, or UNKNOWN for buyers who did not spin.
select app_hour, user_id, country
from gold.aggregated_final_table
where app_hour = any(%(hours)s::timestamp[])
  and country !~ '^[A-Z]{2}$'
  and country <> 'UNKNOWN'
