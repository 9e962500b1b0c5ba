-- What one file version holds of one sheet, indexed when a run first needs that sheet (a
-- single workbook): only while a catalog row still names the version, and once.
insert into ops.source_sheets (
    sha256, sheet, source_rows, undated_rows, first_event, last_event, error
)
select
    %(sha256)s, %(sheet)s, %(source_rows)s, %(undated_rows)s, %(first_event)s, %(last_event)s,
    %(error)s
where exists (select 1 from ops.source_files where sha256 = %(sha256)s)
on conflict do nothing
