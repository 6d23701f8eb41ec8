"""The private TensorFlow modules the core relies on, in one place.

`tf.estimator` was built on these; they still ship in TensorFlow 2.15 through 2.21 (checked by the
test suite on 2.15, 2.16 and 2.21), but they are not public API. Every such import lives here, so a
future TensorFlow that moves one breaks this module alone, with a message that says which.
"""

from __future__ import annotations

try:
    from tensorflow.python.framework import meta_graph
    from tensorflow.python.saved_model import constants as saved_model_constants
    from tensorflow.python.saved_model import loader_impl, path_helpers
    from tensorflow.python.saved_model.model_utils import export_output, export_utils
    from tensorflow.python.training import evaluation
    from tensorflow.python.training import saver as tf_saver
    from tensorflow.python.util import function_utils
except ImportError as err:  # pragma: no cover - only on an unsupported TensorFlow
    import tensorflow as tf

    raise ImportError(
        f'savedmodel_estimator needs TensorFlow 2.15 to 2.21; TensorFlow {tf.__version__} lacks a '
        f'module it relies on ({err.name}).'
    ) from err

__all__ = [
    'evaluation',
    'export_output',
    'export_utils',
    'function_utils',
    'loader_impl',
    'meta_graph',
    'path_helpers',
    'saved_model_constants',
    'tf_saver',
]
