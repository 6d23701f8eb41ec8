"""Integration tests: executors and transforms against the golden SavedModels in tests/data/."""
