-- 0002: numbered migrations replace the DDL fingerprint of ops.schema_version (f582bfd), and
-- the check module moved to playstudio_luigi.quality.checks.
drop table if exists ops.schema_version;

comment on column ops.check_results.check_name is 'Check name (see playstudio_luigi.quality.checks).';
