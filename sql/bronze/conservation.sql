-- Every source row of the interval is either in bronze or in quarantine, never both/neither.
select
    (select count(*) from staging.{{ staging_table }} where interval_start = %(interval_start)s)
        as source_rows,
    (select count(*) from bronze.{{ table }} where interval_start = %(interval_start)s)
        as bronze_rows,
    (select count(*) from ops.quarantine
        where sheet = %(sheet)s and interval_start = %(interval_start)s)
        as quarantined_rows
