"""Database access: connections, schema management and the embedded PostgreSQL server."""
