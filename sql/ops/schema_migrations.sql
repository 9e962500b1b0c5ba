-- The migration record, created (under the migration lock) before the first migration runs:
-- migrations cannot create the table that records them.
create schema if not exists ops;
create table if not exists ops.schema_migrations (
    version     integer     primary key,
    name        text        not null,
    applied_at  timestamptz not null default now()
);

comment on table ops.schema_migrations is
    'Schema migrations applied to this warehouse (sql/migrations/). Grain: one row per applied migration.';
comment on column ops.schema_migrations.version is 'Migration number (the NNNN of NNNN_name.sql).';
comment on column ops.schema_migrations.name is 'Migration name (the name of NNNN_name.sql).';
comment on column ops.schema_migrations.applied_at is 'When the migration committed.';
