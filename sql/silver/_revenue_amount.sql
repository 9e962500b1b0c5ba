-- The amount of the revenue text in column `revenue`, as numeric(14, 2); null where the text is
-- not of the format (bound as revenue_pattern: quality/revenue.py). Trimmed of the whitespace
-- validation strips (bound as whitespace: quality/whitespace.py; a no-break space too), then a
-- match without capture groups and what follows the format's one `=`: a third of the time of
-- a capturing substring. Included by silver/silver_purchases.sql.
case
    when btrim(revenue, %(whitespace)s) ~ %(revenue_pattern)s
        then split_part(btrim(revenue, %(whitespace)s), '=', 2)::numeric(14, 2)
end
