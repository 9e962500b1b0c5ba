-- Sheets and slices of file versions that no file of any source holds any more.
with unused as (
    select sha256
    from unnest(%(shas)s::text[]) as candidate (sha256)
    where not exists (
        select 1 from ops.source_files as f where f.sha256 = candidate.sha256
    )
),

slices as (
    delete from ops.source_slices
    where sha256 in (select sha256 from unused)
)

delete from ops.source_sheets
where sha256 in (select sha256 from unused)
