-- Whether the undated rows of one file version's sheet are in quarantine already.
select exists (
    select 1
    from ops.quarantine
    where sheet = %(sheet)s
      and source_sha256 = %(sha256)s
      and interval_start is null
)
