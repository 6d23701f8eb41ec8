"""Apache Beam batch prediction over SavedModel signatures (needs apache-beam).

* `PredictExamples`: serialized tf.Examples in, one `PredictionBatch` per batch out.
* `ReadExampleBatches`: TFRecord files in, `ExampleBatch`es out, for `PredictExamples`.
* `WritePredictionLogs`, `WriteRows`: BulkInferrer's PredictionLog files; JSON lines or Parquet.
* `SavedModelSignatureHandler`, `PredictPerExample`: the RunInference path, a result per example.
"""

from savedmodel_estimator.beam.model_handler import SavedModelSignatureHandler, load_runner
from savedmodel_estimator.beam.transforms import (
    PredictExamples,
    PredictPerExample,
    ReadExampleBatches,
)
from savedmodel_estimator.beam.writers import (
    PREDICTION_LOGS_PREFIX,
    WritePredictionLogs,
    WriteRows,
)
from savedmodel_estimator.constants import ROW_FORMATS
from savedmodel_estimator.encoding.batches import ExampleBatch, PredictionBatch
from savedmodel_estimator.encoding.prediction_logs import LogFormat
from savedmodel_estimator.encoding.rows import RowColumns
from savedmodel_estimator.serving.signature_runner import SignatureSpec

__all__ = [
    'PREDICTION_LOGS_PREFIX',
    'ROW_FORMATS',
    'ExampleBatch',
    'LogFormat',
    'PredictExamples',
    'PredictPerExample',
    'PredictionBatch',
    'ReadExampleBatches',
    'RowColumns',
    'SavedModelSignatureHandler',
    'SignatureSpec',
    'WritePredictionLogs',
    'WriteRows',
    'load_runner',
]
