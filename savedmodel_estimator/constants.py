"""Names and defaults shared by every layer: the core, the components, the pipelines and the CLI.

Defined once here so a default changes in one place. Two places keep literals, to start without
importing TensorFlow: `sme`'s flag choices and the pipeline configuration's defaults
(`pipelines/config.py`); a test checks they agree with these.
"""

from __future__ import annotations

from typing import Final

from savedmodel_estimator.mode_keys import EXPORT_TAGS, SIGNATURE_KEYS, ModeKeys

# The serving signature and its MetaGraph's tags, as an Estimator exports them.
SERVING_SIGNATURE: Final = SIGNATURE_KEYS[ModeKeys.PREDICT]  # 'serving_default'
SERVING_TAGS: Final = EXPORT_TAGS[ModeKeys.PREDICT]  # ('serve',)

# Records run at once in batch prediction, by default. 4096 costs less CPU per example than 1024
# (the model's graph overheads paid 4 times less often; BENCHMARKS.md) for ~20 MiB more memory.
DEFAULT_MAX_BATCH_SIZE: Final = 4096

# What batch prediction writes: PredictionLogs (as stock BulkInferrer) and row files.
PREDICTION_LOG: Final = 'prediction_log'
JSONL: Final = 'jsonl'
PARQUET: Final = 'parquet'
ROW_FORMATS: Final = (JSONL, PARQUET)
OUTPUT_FORMATS: Final = (PREDICTION_LOG, *ROW_FORMATS)
