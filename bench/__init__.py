"""The product's speed benchmarks (`python -m bench [name ...]`); results go to bench/RESULTS.md."""
