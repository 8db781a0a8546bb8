"""Test doubles that speak real protocols over loopback (used by tests and benchmarks)."""
