-- One file version's catalog row and what it holds of each sheet (a single-workbook source).
select f.sha256, f.error, s.sheet, s.source_rows, s.undated_rows, s.first_event, s.last_event,
    s.error
from ops.source_files as f
left join ops.source_sheets as s on s.sha256 = f.sha256
where f.source = %(source)s
    and f.path = %(path)s
order by s.sheet
