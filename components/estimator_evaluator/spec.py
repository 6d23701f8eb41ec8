"""EstimatorEvaluator's typed interface: the keys of its inputs, outputs and parameters.

Shared by the component, its executor and the tests. Parameters are plain str/int values (lists
and the thresholds as JSON strings) so the component compiles for Kubeflow V2 / Vertex.
"""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Inputs, named as the TFX Evaluator names them.
MODEL_KEY = 'model'
EXAMPLES_KEY = 'examples'
BASELINE_MODEL_KEY = 'baseline_model'

# Outputs, named as the TFX Evaluator names them.
EVALUATION_KEY = 'evaluation'
BLESSING_KEY = 'blessing'

# Parameters.
EVAL_SPLITS_KEY = 'eval_splits'
METRIC_THRESHOLDS_KEY = 'metric_thresholds'
BATCH_SIZE_KEY = 'batch_size'
STEPS_KEY = 'steps'

DEFAULT_EVAL_SPLITS = ('eval',)
DEFAULT_BATCH_SIZE = 256


class EstimatorEvaluatorSpec(ComponentSpec):
    """EstimatorEvaluator: a Model (and a baseline) on Examples in; metrics and a blessing out."""

    # TFX reads these class attributes; ComponentSpec declares them as plain dicts.
    PARAMETERS = {  # noqa: RUF012
        EVAL_SPLITS_KEY: ExecutionParameter(type=str, optional=True),  # JSON list of names
        METRIC_THRESHOLDS_KEY: ExecutionParameter(type=str, optional=True),  # JSON object
        BATCH_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        STEPS_KEY: ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {  # noqa: RUF012
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        BASELINE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {  # noqa: RUF012
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }
