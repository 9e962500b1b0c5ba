-- Gold for a set of hours. Grain: one row per (app_hour, user_id) with spins or purchases that
-- hour. Each row's daily revenue is its user's over the UTC day in silver now: a bulk run of
-- whole days inserts its rows final, and gold/daily_refresh.sql then only corrects the other
-- hours of a day that one hour's run changed (rather than rewrite every row it inserted).
with spins as (
    select app_hour, user_id, country, total_spins
    from silver.silver_spins_hourly
    where app_hour = any(%(hours)s::timestamp[])
),

purchases as (
    select app_hour, user_id, revenue
    from silver.silver_purchases
    where app_hour = any(%(hours)s::timestamp[])
),

spins_per_user as (
    select app_hour, user_id, sum(total_spins) as total_spins
    from spins
    group by app_hour, user_id
),

top_country as (
    -- the country with the most spins that hour; ties go to the alphabetically first
    select distinct on (app_hour, user_id) app_hour, user_id, country
    from spins
    order by app_hour, user_id, total_spins desc, country asc
),

purchases_per_user as (
    select app_hour, user_id, sum(revenue) as total_revenue, count(*) as purchases
    from purchases
    group by app_hour, user_id
),

daily as (
{% include "gold/_daily_revenue.sql" %}
),

users as (
    select app_hour, user_id from spins_per_user
    union
    select app_hour, user_id from purchases_per_user
),

final as (
    select
        users.app_hour,
        users.user_id,
        coalesce(top_country.country, 'UNKNOWN') as country,
        -- numeric round() is half away from zero, i.e. half up for non-negative spins
        round(coalesce(spins_per_user.total_spins, 0))::integer as total_spins_hourly,
        coalesce(purchases_per_user.total_revenue, 0)::numeric(14, 2) as total_revenue_hourly,
        coalesce(purchases_per_user.purchases, 0)::integer as amount_purchases_hourly,
        -- six decimals: exact for any realistic price, and a stable scale for consumers
        coalesce(
            round(purchases_per_user.total_revenue / nullif(purchases_per_user.purchases, 0), 6),
            0
        ) as avg_revenue_per_purchase_hourly,
        coalesce(daily.daily_revenue, 0)::numeric(14, 2) as total_revenue_per_user_daily
    from users
    left join spins_per_user using (app_hour, user_id)
    left join top_country using (app_hour, user_id)
    left join purchases_per_user using (app_hour, user_id)
    left join daily
        on daily.day = date_trunc('day', users.app_hour)
        and daily.user_id = users.user_id
)

select * from final
