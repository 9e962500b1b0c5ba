-- Full refresh of [start, stop): remove the markers of the chosen layers (and of every layer
-- downstream of them) together with their rows, so that the next run rebuilds the range.
-- bronze: extract, validate, bronze, silver, gold; silver: silver and gold; gold: gold only.
{% if layer == 'bronze' %}
delete from staging.extract_purchases where interval_start >= %(start)s and interval_start < %(stop)s;
delete from staging.extract_spins where interval_start >= %(start)s and interval_start < %(stop)s;
delete from ops.quarantine where interval_start >= %(start)s and interval_start < %(stop)s;
delete from ops.interval_loads where interval_start >= %(start)s and interval_start < %(stop)s;
delete from bronze.bronze_purchases where interval_start >= %(start)s and interval_start < %(stop)s;
delete from bronze.bronze_spins_hourly where interval_start >= %(start)s and interval_start < %(stop)s;
{% endif %}
{% if layer in ('bronze', 'silver') %}
delete from silver.silver_purchases where interval_start >= %(start)s and interval_start < %(stop)s;
delete from silver.silver_spins_hourly where app_hour >= %(start)s and app_hour < %(stop)s;
{% endif %}
delete from gold.aggregated_final_table where app_hour >= %(start)s and app_hour < %(stop)s;

delete from ops.task_markers
where interval_start >= %(start)s
  and interval_start < %(stop)s
  and task_family = any(%(families)s);
