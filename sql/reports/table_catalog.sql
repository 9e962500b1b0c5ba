-- The warehouse's tables and columns as PostgreSQL describes them, with their comments
-- (written by sql/schema/): one source of truth for the table reference.
select
    tables.table_schema,
    tables.table_name,
    obj_description(format('%%I.%%I', tables.table_schema, tables.table_name)::regclass, 'pg_class')
        as table_comment,
    columns.column_name,
    format_type(attributes.atttypid, attributes.atttypmod) as data_type,
    columns.is_nullable = 'YES' as nullable,
    col_description(attributes.attrelid, attributes.attnum) as column_comment,
    coalesce(attributes.attnum = any(constraints.conkey), false) as primary_key
from information_schema.tables as tables
join information_schema.columns as columns
    on columns.table_schema = tables.table_schema
   and columns.table_name = tables.table_name
join pg_attribute as attributes
    on attributes.attrelid = format('%%I.%%I', tables.table_schema, tables.table_name)::regclass
   and attributes.attname = columns.column_name
left join pg_constraint as constraints
    on constraints.conrelid = attributes.attrelid
   and constraints.contype = 'p'
where tables.table_schema = any(%(schemas)s)
  and tables.table_type = 'BASE TABLE'
order by tables.table_schema, tables.table_name, columns.ordinal_position
