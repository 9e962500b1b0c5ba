"""The source side: listing export files, reading them (xlsx, csv, parquet), the catalog of
file versions in PostgreSQL, parsed versions cached per machine, and the sample generator."""
