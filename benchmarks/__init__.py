"""Stand-alone benchmarks (run as `python -m benchmarks.<name>`; never collected by pytest)."""
