-- Hand-written rows for the v1 (0a4a904) schema of v1_0a4a904_schema.sql: a few of each table,
-- quarantine rows included (their key changed from (sheet, interval_start, source_row) to a
-- surrogate quarantine_id, and staging.extract_purchases gained conflicts_with_row).
insert into ops.task_markers (task_family, interval_start, task_id, source_sha256, details, completed_at)
values
    ('BronzeLoad', '2022-04-01 00:00', 'BronzeLoad_2022_04_01T00_abc', 'aa11', '{"rows": 3}', '2026-11-26 18:00:00+00'),
    ('GoldHour', '2022-04-01 00:00', 'GoldHour_2022_04_01T00_def', null, '{}', '2026-11-26 18:00:05+00');

insert into ops.quarantine (interval_start, sheet, source_row, source_path, source_sha256, raw_values, reasons, task_family, quarantined_at)
values
    ('2022-04-01 00:05', 'Purchases', 7, '/data/export.xlsx', 'aa11', '{"userId": "", "revenue": "PriceInUSD=abc"}', array['user_id: empty', 'revenue: not a price'], 'BronzeLoad', '2026-11-26 18:00:01+00'),
    ('2022-04-01 00:05', 'Purchases', 9, '/data/export.xlsx', 'aa11', '{"userId": "u9", "revenue": "-1"}', array['revenue: negative'], 'BronzeLoad', '2026-11-26 18:00:02+00'),
    ('2022-04-01 00:00', 'Spins Hourly', 4, '/data/export.xlsx', 'aa11', '{"country": "ZZZ"}', array['country: not ISO 3166'], 'BronzeLoad', '2026-11-26 18:00:03+00');

insert into staging.extract_purchases (interval_start, source_row, event_time, user_id, revenue, transaction_id, cell_errors, source_path, source_sha256, extracted_at)
values
    ('2022-04-01 00:00', 2, '2022-04-01 00:01:02', 'u1', 'PriceInUSD=4.99', 'A1B2C3D4-0000-0000-0000-000000000001', null, '/data/export.xlsx', 'aa11', '2026-11-26 17:59:59+00'),
    ('2022-04-01 00:00', 3, null, 'u2', 'PriceInUSD=1.99', 'a1b2c3d4-0000-0000-0000-000000000002', 'date: not a datetime', '/data/export.xlsx', 'aa11', '2026-11-26 17:59:59+00');

insert into staging.extract_spins (interval_start, source_row, event_time, user_id, country, total_spins, cell_errors, source_path, source_sha256, extracted_at)
values ('2022-04-01 00:00', 2, '2022-04-01 00:00:00', 'u1', 'DE', '12.5', null, '/data/export.xlsx', 'aa11', '2026-11-26 17:59:59+00');

insert into bronze.bronze_purchases (interval_start, event_time, user_id, revenue, transaction_id, source_path, source_sha256, source_sheet, source_row, extracted_at)
values ('2022-04-01 00:00', '2022-04-01 00:01:02', 'u1', 'PriceInUSD=4.99', 'A1B2C3D4-0000-0000-0000-000000000001', '/data/export.xlsx', 'aa11', 'Purchases', 2, '2026-11-26 17:59:59+00');

insert into bronze.bronze_spins_hourly (interval_start, event_time, user_id, country, total_spins, source_path, source_sha256, source_sheet, source_row, extracted_at)
values ('2022-04-01 00:00', '2022-04-01 00:00:00', 'u1', 'DE', '12.5', '/data/export.xlsx', 'aa11', 'Spins Hourly', 2, '2026-11-26 17:59:59+00');

insert into silver.silver_purchases (transaction_id, event_time, app_hour, interval_start, user_id, revenue, source_path, source_sha256, source_sheet, source_row, source_copies, loaded_at)
values ('a1b2c3d4-0000-0000-0000-000000000001', '2022-04-01 00:01:02', '2022-04-01 00:00', '2022-04-01 00:00', 'u1', 4.99, '/data/export.xlsx', 'aa11', 'Purchases', 2, 1, '2026-11-26 18:00:04+00');

insert into silver.silver_spins_hourly (app_hour, user_id, country, total_spins, source_rows, source_sha256, loaded_at)
values ('2022-04-01 00:00', 'u1', 'DE', 12.5, 1, 'aa11', '2026-11-26 18:00:04+00');

insert into gold.aggregated_final_table (app_hour, user_id, country, total_spins_hourly, total_revenue_hourly, amount_purchases_hourly, avg_revenue_per_purchase_hourly, total_revenue_per_user_daily, updated_at)
values ('2022-04-01 00:00', 'u1', 'DE', 13, 4.99, 1, 4.990000, 4.99, '2026-11-26 18:00:05+00');
