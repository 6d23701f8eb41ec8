"""Leaving tf.estimator: an Estimator export turned into a TF2-native, trainable SavedModel.

`migrate(export_dir, output_dir)` writes a SavedModel that `tf.saved_model.load` loads without
`tf.compat.v1`, a session or this package: one set of `tf.Variable`s shared by the serving
signatures, `train_step` and the eval metrics. See `migrate` for what the loaded object offers.
"""

from savedmodel_estimator.migration.errors import MigrationError
from savedmodel_estimator.migration.migrate import MigrationResult, migrate

__all__ = ['MigrationError', 'MigrationResult', 'migrate']
