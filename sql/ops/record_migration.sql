-- One applied migration, in the transaction that applied it.
insert into ops.schema_migrations (version, name) values (%(version)s, %(name)s);
