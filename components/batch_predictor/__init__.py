"""BatchPredictor: batch inference with any signature of a SavedModel (see component.py)."""
