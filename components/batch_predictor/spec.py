"""BatchPredictor's typed interface: the keys of its inputs, outputs and parameters.

Shared by the component, its executor and the tests. Parameters are plain str/int values (lists
as JSON strings) so the component compiles for Kubeflow V2 / Vertex.
"""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from savedmodel_estimator import constants

# Inputs and output, named as stock BulkInferrer names them.
MODEL_KEY = 'model'
EXAMPLES_KEY = 'examples'
MODEL_BLESSING_KEY = 'model_blessing'
INFERENCE_RESULT_KEY = 'inference_result'

# Parameters.
SIGNATURE_NAME_KEY = 'signature_name'
TAGS_KEY = 'tags'  # JSON list
SPLITS_KEY = 'splits'  # JSON list; all splits when absent
MIN_BATCH_SIZE_KEY = 'min_batch_size'
MAX_BATCH_SIZE_KEY = 'max_batch_size'
OUTPUT_FORMATS_KEY = 'output_formats'  # JSON list
PASSTHROUGH_FEATURES_KEY = 'passthrough_features'  # JSON list

PREDICTION_LOG = constants.PREDICTION_LOG
JSONL = constants.JSONL
PARQUET = constants.PARQUET
OUTPUT_FORMATS = constants.OUTPUT_FORMATS

DEFAULT_SIGNATURE_NAME = constants.SERVING_SIGNATURE
DEFAULT_TAGS = constants.SERVING_TAGS
DEFAULT_MIN_BATCH_SIZE = 1
DEFAULT_MAX_BATCH_SIZE = constants.DEFAULT_MAX_BATCH_SIZE
DEFAULT_OUTPUT_FORMATS = (PREDICTION_LOG,)

# Where the outputs go inside the InferenceResult artifact.
ROWS_DIR = 'rows'  # <uri>/rows/Split-<name>/rows-00000-of-00001.{jsonl,parquet}
ROWS_PREFIX = 'rows'

# Custom properties recorded on the InferenceResult.
SKIPPED_REASON_PROPERTY = 'skipped_reason'
NUM_EXAMPLES_PROPERTY = 'num_examples'
SIGNATURE_NAME_PROPERTY = 'signature_name'
OUTPUT_FORMATS_PROPERTY = 'output_formats'
SPLIT_NAMES_PROPERTY = 'split_names'


class BatchPredictorSpec(ComponentSpec):
    """BatchPredictor: a Model (and a blessing) and Examples in; an InferenceResult out."""

    # TFX reads these class attributes; ComponentSpec declares them as plain dicts.
    PARAMETERS = {  # noqa: RUF012
        SIGNATURE_NAME_KEY: ExecutionParameter(type=str, optional=True),
        TAGS_KEY: ExecutionParameter(type=str, optional=True),
        SPLITS_KEY: ExecutionParameter(type=str, optional=True),
        MIN_BATCH_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        MAX_BATCH_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        OUTPUT_FORMATS_KEY: ExecutionParameter(type=str, optional=True),
        PASSTHROUGH_FEATURES_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {  # noqa: RUF012
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        MODEL_BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing, optional=True),
    }
    OUTPUTS = {  # noqa: RUF012
        INFERENCE_RESULT_KEY: ChannelParameter(type=standard_artifacts.InferenceResult),
    }
