-- The amount of the (trimmed) revenue text in column `revenue`, as numeric(14, 2); null where
-- the text is not of the format (bound as revenue_pattern: quality/revenue.py): a match without
-- capture groups, then what follows the format's one `=` (a third of the time of a capturing
-- substring). Included by silver/silver_purchases.sql.
case
    when revenue ~ %(revenue_pattern)s then split_part(revenue, '=', 2)::numeric(14, 2)
end
