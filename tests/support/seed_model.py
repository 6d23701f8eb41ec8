"""A small input_fn that trains the golden `dnn_classifier_seed` export (`paths.SEED`)."""

from __future__ import annotations

import tensorflow as tf


def input_fn() -> tf.data.Dataset:
    """Three rows of the seed model's features and labels, repeated without end."""
    features = {
        'feature1': tf.constant(['green', 'green', 'yellow']),
        'feature2': tf.constant([3.5, 4.2, 6.1]),
    }
    return tf.data.Dataset.from_tensors((features, tf.constant([1.0, 0.0, 0.0]))).repeat()
