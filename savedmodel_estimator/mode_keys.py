"""The three modes of an Estimator and where each lives in a SavedModel."""

from __future__ import annotations

from typing import Final


class ModeKeys:
    """Standard names for model modes, as `tf.estimator.ModeKeys` named them.

    * `TRAIN`: training/fitting mode.
    * `EVAL`: testing/evaluation mode.
    * `PREDICT`: prediction/inference mode.
    """

    TRAIN: Final = 'train'
    EVAL: Final = 'eval'
    PREDICT: Final = 'infer'


ALL_MODES: Final = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)

# The MetaGraph tags an Estimator export gives each mode.
EXPORT_TAGS: Final = {
    ModeKeys.TRAIN: ('train',),
    ModeKeys.EVAL: ('eval',),
    ModeKeys.PREDICT: ('serve',),
}

# The SignatureDef key that describes a mode's inputs and outputs in its MetaGraph.
SIGNATURE_KEYS: Final = {
    ModeKeys.TRAIN: 'train',
    ModeKeys.EVAL: 'eval',
    ModeKeys.PREDICT: 'serving_default',
}

# SignatureDef method names of the supervised signatures.
SUPERVISED_METHOD_NAMES: Final = {
    ModeKeys.TRAIN: 'tensorflow/supervised/training',
    ModeKeys.EVAL: 'tensorflow/supervised/eval',
}
