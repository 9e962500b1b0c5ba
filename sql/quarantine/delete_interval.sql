delete from ops.quarantine
where sheet = %(sheet)s
  and interval_start = %(interval_start)s
