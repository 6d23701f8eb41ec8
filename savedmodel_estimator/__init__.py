"""SavedModelEstimator for TensorFlow 2.16+."""
