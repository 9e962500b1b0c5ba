-- Which of the given columns of the table a not-null constraint in force keeps from holding a
-- null (attnotnull, and no not-null constraint on it left unvalidated: PostgreSQL 18's
-- `not null not valid`; before 18 pg_constraint has no such rows).
select attribute.attname::text
from pg_attribute as attribute
where attribute.attrelid = %(table)s::regclass
  and attribute.attnum > 0
  and not attribute.attisdropped
  and attribute.attnotnull
  and attribute.attname = any(%(columns)s::text[])
  and not exists (
      select 1
      from pg_constraint as constraint_row
      where constraint_row.conrelid = attribute.attrelid
        and constraint_row.contype = 'n'
        and not constraint_row.convalidated
        and attribute.attnum = any(constraint_row.conkey)
  )
