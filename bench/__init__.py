"""Benchmarks of the live path, and the throwaway multi-process deployment they (and
tests/deploy) run on. Run `python -m bench --help`; results go to bench/REPORT.md."""
