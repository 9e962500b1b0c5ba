-- The planner needs the listing's size and spread for the joins against the catalog.
analyze pg_temp.catalog_listing
