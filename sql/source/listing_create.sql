-- This session's listing of the source (one row per file, its stat): the sync compares it with
-- the catalog in the database instead of loading the catalog into the process.
create temporary table if not exists catalog_listing (
    path text primary key,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    ctime_ns bigint not null,
    inode bigint not null
);

truncate catalog_listing
