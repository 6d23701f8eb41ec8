"""TFX components over the SavedModelEstimator core.

Each component is a folder: `component.py` declares the typed interface, `executor.py` does the
work. `common/` holds what they share: where artifacts keep their files and the custom property
names downstream components read.
"""
