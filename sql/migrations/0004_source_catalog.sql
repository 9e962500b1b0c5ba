-- 0004: the catalog of source files (DESIGN 3.1). The source may be a folder or glob of many
-- export files; every machine must see which file versions exist, which sheets and event times
-- each holds, and the fingerprint of each interval's rows in it, without parsing them again.
create table if not exists ops.source_files (
    source text not null,
    path text not null,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    ctime_ns bigint not null,
    inode bigint not null,
    modified_at timestamp not null,
    sha256 text,
    error text,
    indexed_at timestamptz not null default now(),
    primary key (source, path)
);

comment on table ops.source_files is 'One row per export file of a configured source (one workbook, a folder or a glob), as last indexed. Grain: one row per (source, path).';
comment on column ops.source_files.source is 'The configured source (PLAYSTUDIO_SOURCE or [playstudio] source_path) the file was listed under.';
comment on column ops.source_files.path is 'Absolute path of the export file.';
comment on column ops.source_files.size_bytes is 'Size in bytes. Size, mtime, ctime and inode identify the content indexed: a file whose stat differs is indexed again.';
comment on column ops.source_files.mtime_ns is 'Modification time, nanoseconds since the epoch (stat).';
comment on column ops.source_files.ctime_ns is 'Status change time, nanoseconds since the epoch: touch cannot set it back, so a rewrite with the old mtime restored is still seen.';
comment on column ops.source_files.inode is 'Inode number (stat): a file replaced by a rename has another.';
comment on column ops.source_files.indexed_at is 'When the file was last indexed.';
comment on column ops.source_files.modified_at is 'The file''s mtime (UTC): when it was exported. The newest readable file holding a sheet is that sheet''s watermark.';
comment on column ops.source_files.sha256 is 'SHA-256 of the file''s bytes; null when it cannot be read.';
comment on column ops.source_files.error is 'Why the file cannot be read (one line naming it), or null.';

create table if not exists ops.source_sheets (
    sha256 text not null,
    sheet text not null,
    source_rows bigint not null,
    undated_rows bigint not null,
    first_event timestamp,
    last_event timestamp,
    error text,
    primary key (sha256, sheet)
);

comment on table ops.source_sheets is 'What each file version (content hash) holds of each sheet: row counts and the range of event times. Grain: one row per (sha256, sheet).';
comment on column ops.source_sheets.sha256 is 'SHA-256 of the file version''s bytes.';
comment on column ops.source_sheets.sheet is 'Sheet name (Purchases, Spins Hourly): the sheet of the workbook, or what a CSV or Parquet file holds.';
comment on column ops.source_sheets.source_rows is 'Rows of the sheet in this version (fully empty rows are not counted).';
comment on column ops.source_sheets.first_event is 'Earliest event time (date) of the sheet''s rows; null when none is dated.';
comment on column ops.source_sheets.last_event is 'Latest event time (date) of the sheet''s rows; null when none is dated.';
comment on column ops.source_sheets.error is 'Why the sheet cannot be read in this version (a missing column, say), or null.';
comment on column ops.source_sheets.undated_rows is 'Rows without a readable date: they belong to no interval and are quarantined once per version.';

create table if not exists ops.source_slices (
    sha256 text not null,
    sheet text not null,
    interval_start timestamp not null,
    source_rows integer not null,
    fingerprint text not null,
    primary key (sha256, sheet, interval_start)
);

comment on table ops.source_slices is 'Each interval''s rows in each file version: count and content fingerprint. An interval''s fingerprint combines those of every file holding rows of it (reconcile compares them). Grain: one row per (sha256, sheet, interval).';

comment on column ops.source_slices.sha256 is 'SHA-256 of the file version''s bytes.';
comment on column ops.source_slices.sheet is 'Sheet name (Purchases, Spins Hourly).';
comment on column ops.source_slices.interval_start is 'Start of the interval (5 minutes for purchases, an hour for spins).';
comment on column ops.source_slices.source_rows is 'Rows of the interval in this version.';
comment on column ops.source_slices.fingerprint is 'SHA-256 of those rows (row numbers and cells, as parsed).';

create index if not exists source_slices_by_interval on ops.source_slices (sheet, interval_start);
