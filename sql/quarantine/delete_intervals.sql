delete from ops.quarantine
where sheet = %(sheet)s
  and interval_start = any(%(starts)s::timestamp[])
