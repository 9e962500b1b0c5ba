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
