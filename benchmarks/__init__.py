"""Benchmark tools for seq2serve (load generation, sweeps); nothing here is imported by the service."""
