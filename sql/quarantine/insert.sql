insert into ops.quarantine (
    interval_start, sheet, source_row, source_path, source_sha256, raw_values, reasons, task_family
) values %s
