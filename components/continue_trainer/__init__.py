"""ContinueTrainer: train an Estimator export further in a TFX pipeline (see component.py)."""
