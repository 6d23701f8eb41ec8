"""Conformance: the core against the real SavedModelEstimator and its upstream tests."""
