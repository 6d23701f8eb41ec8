"""SavedModelEstimator for TensorFlow 2.16+.

Train further, evaluate with their own eval graph, predict with and re-export the SavedModels that
`tf.estimator` exported, on TensorFlow versions that no longer ship `tf.estimator`.
"""

from savedmodel_estimator.errors import ModeNotAvailableError, SavedModelFormatError
from savedmodel_estimator.estimator import SavedModelEstimator
from savedmodel_estimator.migration import MigrationError, migrate
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.run_config import RunConfig

__all__ = [
    'MigrationError',
    'ModeKeys',
    'ModeNotAvailableError',
    'RunConfig',
    'SavedModelEstimator',
    'SavedModelFormatError',
    'migrate',
]
