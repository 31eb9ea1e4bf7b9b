"""Benchmarks: `python -m benchmarks [NAME ...]` runs bench_<NAME>.py modules (all by default)."""
