"""Benchmarks: run as modules (python -m benchmarks.<name>); never shipped to Lambda."""
