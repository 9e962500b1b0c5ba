-- Layers, plus `ops` for markers, quarantine and run metadata and `staging` for extracts.
create schema if not exists staging;
create schema if not exists bronze;
create schema if not exists silver;
create schema if not exists gold;
create schema if not exists ops;
