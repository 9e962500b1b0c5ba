"""Data quality: Pandera validation of source rows, quarantine, SQL checks on silver and gold."""
