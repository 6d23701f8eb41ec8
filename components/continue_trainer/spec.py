"""ContinueTrainer's typed interface: the keys of its inputs, outputs and parameters.

Shared by the component, its executor and the tests. Parameters are plain str/int values (lists
as JSON strings) so the component compiles for Kubeflow V2 / Vertex.
"""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Inputs. The model comes in as `base_model` and goes out as `model`, as with the TFX Trainer,
# because TFX requires one name per key across inputs, outputs and parameters.
BASE_MODEL_KEY = 'base_model'
EXAMPLES_KEY = 'examples'
SCHEMA_KEY = 'schema'

# Outputs.
MODEL_KEY = 'model'
MODEL_RUN_KEY = 'model_run'

# Parameters.
TRAIN_STEPS_KEY = 'train_steps'
MAX_STEPS_KEY = 'max_steps'
BATCH_SIZE_KEY = 'batch_size'
SHUFFLE_BUFFER_KEY = 'shuffle_buffer'
SEED_KEY = 'seed'
TRAIN_SPLITS_KEY = 'train_splits'
SAVE_CHECKPOINTS_STEPS_KEY = 'save_checkpoints_steps'
SAVE_CHECKPOINTS_SECS_KEY = 'save_checkpoints_secs'
KEEP_CHECKPOINT_MAX_KEY = 'keep_checkpoint_max'
CHECKPOINT_DIR_KEY = 'checkpoint_dir'
ALLOW_NON_FINITE_KEY = 'allow_non_finite'  # 0 or 1

# ModelRun custom property: the checkpoint step a retried execution resumed from (absent when
# training started from the base model).
RESUMED_FROM_STEP_PROPERTY = 'resumed_from_step'

DEFAULT_BATCH_SIZE = 32
DEFAULT_TRAIN_SPLITS = ('train',)


class ContinueTrainerSpec(ComponentSpec):
    """ContinueTrainer: a Model and Examples in; a further-trained Model and its ModelRun out."""

    # TFX reads these class attributes; ComponentSpec declares them as plain dicts.
    PARAMETERS = {  # noqa: RUF012
        TRAIN_STEPS_KEY: ExecutionParameter(type=int, optional=True),
        MAX_STEPS_KEY: ExecutionParameter(type=int, optional=True),
        BATCH_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        SHUFFLE_BUFFER_KEY: ExecutionParameter(type=int, optional=True),
        SEED_KEY: ExecutionParameter(type=int, optional=True),
        TRAIN_SPLITS_KEY: ExecutionParameter(type=str, optional=True),  # JSON list of names
        SAVE_CHECKPOINTS_STEPS_KEY: ExecutionParameter(type=int, optional=True),
        SAVE_CHECKPOINTS_SECS_KEY: ExecutionParameter(type=int, optional=True),
        KEEP_CHECKPOINT_MAX_KEY: ExecutionParameter(type=int, optional=True),
        CHECKPOINT_DIR_KEY: ExecutionParameter(type=str, optional=True),
        ALLOW_NON_FINITE_KEY: ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {  # noqa: RUF012
        BASE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema, optional=True),
    }
    OUTPUTS = {  # noqa: RUF012
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        MODEL_RUN_KEY: ChannelParameter(type=standard_artifacts.ModelRun),
    }
