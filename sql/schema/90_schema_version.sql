-- Fingerprint of the DDL above, so that connections skip DDL when the schema is current.
create table if not exists ops.schema_version (
    fingerprint   text        not null,
    installed_at  timestamptz not null default now()
);
