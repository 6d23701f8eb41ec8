"""The core's predictions for a SavedModel: an independent path for the expected values."""

from __future__ import annotations

import pathlib
from typing import Any

import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator


def core_predict(saved_model: str, features: dict[str, Any], tmp: pathlib.Path) -> list[dict]:
    """`SavedModelEstimator.predict` on one batch of `features`, model_dir under `tmp`."""
    estimator = SavedModelEstimator(saved_model, model_dir=str(tmp / 'core'))
    return list(estimator.predict(lambda: tf.data.Dataset.from_tensors(features)))
