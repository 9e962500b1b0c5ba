insert into ops.quarantine (
    interval_start, sheet, source_row, source_path, source_sha256, raw_values, reasons, task_family
) values %s
{% if undated %}
-- rows without a date are kept once per source version, whichever interval saw them first
on conflict (sheet, source_sha256, source_row) where interval_start is null do nothing
{% endif %}
