{#- What a sync's snapshot is made of, defined once: the queries that build it
    (listing_keys.sql) and those filtered by it (source/catalog.py::Catalog) must compute the
    same keys, or a run would silently drop files. -#}

{#- A catalog row of the source for a listed file as it is listed now (same size, mtime, ctime
    and inode): what the sync knows without reading the file. -#}
{% macro listed_as_cataloged(listing, files) -%}
inner join ops.source_files as {{ files }}
    on {{ files }}.source = %(source)s
    and {{ files }}.path = {{ listing }}.path
    and ({{ files }}.size_bytes, {{ files }}.mtime_ns, {{ files }}.ctime_ns, {{ files }}.inode)
    = ({{ listing }}.size_bytes, {{ listing }}.mtime_ns, {{ listing }}.ctime_ns, {{ listing }}.inode)
{%- endmacro %}

{#- A file's snapshot key by path alone (is it readable in the snapshot?). -#}
{% macro path_key(files) -%}
hashtextextended({{ files }}.path, 0)
{%- endmacro %}

{#- A file version's snapshot key: path and content hash ('' when it cannot be read). -#}
{% macro version_key(files) -%}
hashtextextended({{ files }}.path || chr(9) || coalesce({{ files }}.sha256, ''), 0)
{%- endmacro %}
