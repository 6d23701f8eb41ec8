"""EstimatorEvaluator: evaluate an Estimator export with its own eval graph (see component.py)."""
