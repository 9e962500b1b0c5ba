-- 0008: a run asks the catalog in SQL instead of loading it (DESIGN 3.1): the files whose
-- event-time range overlaps an interval, those holding undated rows, the files of a version
-- (slices and sheets join the files by content hash), and the few that cannot be read. Indexes
-- only: nothing earlier changes.
create index if not exists source_files_by_version on ops.source_files (sha256);

create index if not exists source_files_unreadable on ops.source_files (source)
    where error is not null;

create index if not exists source_sheets_by_last_event
    on ops.source_sheets (sheet, last_event, first_event);

create index if not exists source_sheets_by_first_event
    on ops.source_sheets (sheet, first_event, last_event);

create index if not exists source_sheets_undated on ops.source_sheets (sheet)
    where undated_rows > 0;
