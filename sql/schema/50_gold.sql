-- Gold. Grain: one row per (app_hour, user_id).
create table if not exists gold.aggregated_final_table (
    app_hour                         timestamp     not null,
    user_id                          text          not null,
    country                          text          not null,
    total_spins_hourly               integer       not null,
    total_revenue_hourly             numeric(14,2) not null,
    amount_purchases_hourly          integer       not null,
    avg_revenue_per_purchase_hourly  numeric       not null,
    total_revenue_per_user_daily     numeric(14,2) not null,
    updated_at                       timestamptz   not null default now(),
    primary key (app_hour, user_id)
);
create index if not exists aggregated_final_table_user_idx
    on gold.aggregated_final_table (user_id, app_hour);

comment on table gold.aggregated_final_table is
    'Hourly metrics per user, with the daily revenue. Grain: one row per (app_hour, user_id).';
comment on column gold.aggregated_final_table.app_hour is 'UTC hour of the events.';
comment on column gold.aggregated_final_table.user_id is 'Player id.';
comment on column gold.aggregated_final_table.country is 'Country with the most spins that hour (ties: alphabetical); UNKNOWN when the user bought but did not spin.';
comment on column gold.aggregated_final_table.total_spins_hourly is 'Sum of the hour''s spins, rounded half up.';
comment on column gold.aggregated_final_table.total_revenue_hourly is 'Sum of deduplicated purchases, USD.';
comment on column gold.aggregated_final_table.amount_purchases_hourly is 'Count of deduplicated purchases.';
comment on column gold.aggregated_final_table.avg_revenue_per_purchase_hourly is 'Revenue / purchases (6 decimals), 0 without purchases.';
comment on column gold.aggregated_final_table.total_revenue_per_user_daily is 'The user''s revenue over the whole UTC day, on every row of that user-day.';
comment on column gold.aggregated_final_table.updated_at is 'When the row was last written.';
