"""Read-only reports: coverage status, check results, and the gold summary."""
