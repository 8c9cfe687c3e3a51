"""Benchmarks of tokbytes on long outputs: ``python -m benchmarks.run --help``."""
