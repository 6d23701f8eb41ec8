"""Names and defaults shared by every layer: the core, the components, the pipelines and the CLI.

Defined once here so a default changes in one place (the Beam package keeps its own copy of the
batch size and the row format names: it is owned separately and imports nothing above the core).
"""

from __future__ import annotations

from typing import Final

from savedmodel_estimator.mode_keys import EXPORT_TAGS, SIGNATURE_KEYS, ModeKeys

# The serving signature and its MetaGraph's tags, as an Estimator exports them.
SERVING_SIGNATURE: Final = SIGNATURE_KEYS[ModeKeys.PREDICT]  # 'serving_default'
SERVING_TAGS: Final = EXPORT_TAGS[ModeKeys.PREDICT]  # ('serve',)

# Records run at once in batch prediction, by default.
DEFAULT_MAX_BATCH_SIZE: Final = 1024

# What batch prediction writes: PredictionLogs (as stock BulkInferrer) and row files.
PREDICTION_LOG: Final = 'prediction_log'
JSONL: Final = 'jsonl'
PARQUET: Final = 'parquet'
ROW_FORMATS: Final = (JSONL, PARQUET)
OUTPUT_FORMATS: Final = (PREDICTION_LOG, *ROW_FORMATS)
