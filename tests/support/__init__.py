"""Test helpers shared by more than one test area (no fixtures, no test functions)."""
