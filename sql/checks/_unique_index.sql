-- A unique index that keeps any two rows of the table from sharing the given columns now (a
-- check of that rule would find nothing): valid and live, enforced at once (not deferred: the
-- checks run before the commit), on plain columns only (no expression, no predicate), its key
-- columns among the given ones and each not null (nulls never collide in a unique index).
-- One row (name, is it the primary key, its key columns) or none.
with candidates as (
    select
        index_class.relname as index_name,
        ix.indisprimary as is_primary,
        (ix.indkey::int2[])[0:ix.indnkeyatts - 1] as key_columns
    from pg_index as ix
    inner join pg_class as index_class on index_class.oid = ix.indexrelid
    where ix.indrelid = %(table)s::regclass
      and ix.indisunique
      and ix.indisvalid
      and ix.indisready
      and ix.indislive
      and ix.indimmediate
      and ix.indpred is null
      and ix.indexprs is null
),

final as (
    select
        candidates.index_name,
        candidates.is_primary,
        array(
            select attribute.attname::text
            from unnest(candidates.key_columns) with ordinality as key (attnum, position)
            inner join pg_attribute as attribute
                on attribute.attrelid = %(table)s::regclass and attribute.attnum = key.attnum
            order by key.position
        ) as columns
    from candidates
    where not exists (
        select 1
        from unnest(candidates.key_columns) as key (attnum)
        left join pg_attribute as attribute
            on attribute.attrelid = %(table)s::regclass and attribute.attnum = key.attnum
        where attribute.attname is null
           or attribute.attname <> all(%(columns)s::text[])
           or not attribute.attnotnull
    )
)

select index_name, is_primary, columns
from final
order by is_primary desc, index_name
limit 1
