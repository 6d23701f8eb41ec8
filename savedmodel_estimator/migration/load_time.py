"""Ops an export's init op ran at every load, run again at every load of the migrated model.

A TF1 loader restores the variables, then runs the MetaGraph's init op. Estimator init ops
initialize tables and metric variables, which the TF2 objects of a migrated model do
themselves; a Scaffold's custom `local_init_op` may also write model variables or checkpointed
tables (`checks.load_time_effects`). TF2 SavedModels run one kind of code after restoring,
at every load: resource initializers (`tf.saved_model.load`, and TF Serving and TF1 loaders
through the `saved_model_init_op`). TensorFlow's public API lets a table initializer, not any
other object, put code there, so these ops ride on the initializer of a one-entry table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator.migration.wrapped import PrunedFunction


class LoadTimeOps(tf.lookup.KeyValueTensorInitializer):
    """Initializes a one-entry table (0 -> 0) after running `functions`, once armed.

    Not armed while the table is made, so migrating runs none of them: the saved variables
    are the export's, and every load then changes them once, as a TF1 loader did.
    """

    def __init__(self, functions: Sequence[PrunedFunction]) -> None:
        super().__init__(tf.constant([0], tf.int64), tf.constant([0], tf.int64))
        self.functions = list(functions)
        self.armed = False

    def initialize(self, table: Any) -> Any:
        if self.armed:
            for function in self.functions:
                function()
        return super().initialize(table)


def load_time_table(functions: Sequence[PrunedFunction]) -> tf.lookup.StaticHashTable:
    """The table whose initializer, traced when the model is saved, runs `functions`."""
    initializer = LoadTimeOps(functions)
    table = tf.lookup.StaticHashTable(initializer, default_value=tf.constant(0, tf.int64))
    initializer.armed = True
    return table
