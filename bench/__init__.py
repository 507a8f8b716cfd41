"""Benchmarks of ipsync against the naive way; ``python -m bench`` writes BENCHMARKS.md."""
