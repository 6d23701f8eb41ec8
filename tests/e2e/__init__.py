"""End-to-end tests: the whole local pipeline, run as users run it."""
