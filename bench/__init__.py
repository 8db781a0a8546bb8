"""Benchmarks: they print their figures; targets are in each module's docstring."""
