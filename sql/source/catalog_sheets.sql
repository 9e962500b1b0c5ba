-- What the given file versions hold of each sheet.
select sha256, sheet, source_rows, undated_rows, first_event, last_event, error
from ops.source_sheets
where sha256 = any(%(shas)s::text[])
