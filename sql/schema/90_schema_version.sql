-- Fingerprint of the DDL above, so that connections skip DDL when the schema is current.
create table if not exists ops.schema_version (
    fingerprint   text        not null,
    installed_at  timestamptz not null default now()
);

comment on table ops.schema_version is
    'Fingerprint of the installed DDL. Grain: one row.';
comment on column ops.schema_version.fingerprint is 'SHA-256 of the rendered sql/schema templates.';
comment on column ops.schema_version.installed_at is 'When the DDL was installed.';
