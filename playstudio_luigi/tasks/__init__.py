"""Luigi tasks, one module per layer: extract → validate → bronze → silver → gold."""
