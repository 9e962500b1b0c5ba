"""Benchmarks: ``python -m bench.readers_loaders`` (see BENCHMARKS.md)."""
