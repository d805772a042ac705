"""Benchmarks of issue 8 (`python -m bench [name ...]`); results go to bench/RESULTS.md."""
