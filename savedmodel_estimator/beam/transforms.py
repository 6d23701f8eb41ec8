"""Batch prediction transforms: records in, whole batches of predictions out.

    with beam.Pipeline() as p:
        spec = SignatureSpec('/models/1700000000', passthrough_features=(('id', tf.int64),))
        predictions = (
            p
            | ReadExampleBatches('gs://bucket/examples/Split-eval/*.gz', batch_size=4096)
            | PredictExamples(spec, max_batch_size=4096, prebatched=True)
        )
        _ = predictions | WritePredictionLogs('gs://bucket/out/prediction_logs', spec)
        _ = predictions | WriteRows('gs://bucket/out/rows', 'parquet', spec)

`PredictExamples` also takes a PCollection of serialized tf.Examples (one per element) and
batches them with `BatchElements`. Elements stay batches from there to the files: a Beam element
per record costs the runner more than the model does. `PredictPerExample` is the RunInference
path, for pipelines that want a `PredictionResult` per example.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import apache_beam as beam
import tensorflow as tf
from apache_beam.ml.inference.base import RunInference

from savedmodel_estimator.beam.model_handler import SavedModelSignatureHandler, load_runner
from savedmodel_estimator.constants import DEFAULT_MAX_BATCH_SIZE
from savedmodel_estimator.encoding.batches import ExampleBatch, PredictionBatch, as_records
from savedmodel_estimator.encoding.reading import ReadError, read_batches
from savedmodel_estimator.serving.signature_runner import SignatureRunner, SignatureSpec
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError

METRICS_NAMESPACE = 'savedmodel_estimator'
EXAMPLES_COUNTER = 'examples'


def _as_spec(model: SignatureSpec | str) -> SignatureSpec:
    return model if isinstance(model, SignatureSpec) else SignatureSpec(model)


def _check_batch_sizes(min_batch_size: int, max_batch_size: int) -> None:
    if not 1 <= min_batch_size <= max_batch_size:
        raise ValueError(
            'Batch sizes must satisfy 1 <= min_batch_size <= max_batch_size, given: '
            f'min_batch_size={min_batch_size}, max_batch_size={max_batch_size}.'
        )


class _ReadBatchesFn(beam.DoFn):
    """Reads one TFRecord file (gzip when named `*.gz`) as batches of records, a few ahead."""

    def __init__(self, batch_size: int) -> None:
        self._batch_size = batch_size

    def process(self, path: str) -> Iterator[ExampleBatch]:
        index = 0
        try:
            for records in read_batches(path, self._batch_size):
                yield ExampleBatch(records, path, index)
                index += len(records)
        except ReadError as err:
            raise ExampleFormatError(
                f'TFRecord file {path!r} is corrupt or truncated after record {index} '
                f'({err}). Regenerate it, or leave it out.'
            ) from err


class ReadExampleBatches(beam.PTransform):
    """Reads TFRecord files of serialized tf.Examples as `ExampleBatch` elements.

    Files are spread over workers; each is read in order, so every batch knows its file and the
    index of its first record (named in errors). TensorFlow reads the files, so any filesystem it
    knows works (local, gs://).

    Args:
        file_patterns: Glob patterns of the files, resolved when the pipeline is built.
        batch_size: Records per batch (the last batch of a file may be smaller).

    Raises:
        FileNotFoundError: (at pipeline construction) no file matches.
    """

    def __init__(self, file_patterns: str | Sequence[str], batch_size: int) -> None:
        super().__init__()
        _check_batch_sizes(1, batch_size)
        patterns = [file_patterns] if isinstance(file_patterns, str) else list(file_patterns)
        self._files = sorted({path for p in patterns for path in tf.io.gfile.glob(p)})
        if not self._files:
            raise FileNotFoundError(f'No files match {patterns}.')
        self._batch_size = batch_size

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        # Files go to the workers through a GroupByKey (by path), as Create's own Reshuffle
        # would send them: its expansion costs Beam ~25 more parses of the pipeline options
        # (argparse), ~0.1 s of a run.
        return (
            pbegin
            | 'Files' >> beam.Create(self._files, reshuffle=False)
            | 'ByPath' >> beam.Map(lambda path: (path, path))
            | 'SpreadFiles' >> beam.GroupByKey()
            | 'Paths' >> beam.Keys()
            | 'Read' >> beam.ParDo(_ReadBatchesFn(self._batch_size))
        )


class _PredictFn(beam.DoFn):
    def __init__(self, spec: SignatureSpec, max_batch_size: int) -> None:
        self._spec = spec
        self._max_batch_size = max_batch_size
        self._runner: SignatureRunner | None = None
        self._examples = beam.metrics.Metrics.counter(METRICS_NAMESPACE, EXAMPLES_COUNTER)
        self._batch_sizes = beam.metrics.Metrics.distribution(METRICS_NAMESPACE, 'batch_size')

    def setup(self) -> None:
        self._runner = load_runner(self._spec)

    def process(self, element: ExampleBatch | Sequence[bytes]) -> Iterator[PredictionBatch]:
        assert self._runner is not None
        for batch in as_records(element).chunks(self._max_batch_size):
            result = self._runner.run(
                batch.records, source=batch.source, first_index=batch.first_index
            )
            self._examples.inc(len(batch))
            self._batch_sizes.update(len(batch))
            yield PredictionBatch(
                batch.records, result.outputs, result.passthrough, batch.source, batch.first_index
            )


class PredictExamples(beam.PTransform):
    """Runs a signature on serialized tf.Examples; emits one `PredictionBatch` per batch.

    Args:
        model: A `SignatureSpec`, or the SavedModel directory for its serving signature.
        min_batch_size: The smallest batch `BatchElements` makes.
        max_batch_size: The largest batch run at once (larger input batches are cut).
        prebatched: The input holds `ExampleBatch`es or lists of records (from
            `ReadExampleBatches`), not single records: no `BatchElements`.
    """

    def __init__(
        self,
        model: SignatureSpec | str,
        *,
        min_batch_size: int = 1,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        prebatched: bool = False,
    ) -> None:
        super().__init__()
        _check_batch_sizes(min_batch_size, max_batch_size)
        self._spec = _as_spec(model)
        self._min_batch_size = min_batch_size
        self._max_batch_size = max_batch_size
        self._prebatched = prebatched

    def expand(self, examples: beam.PCollection) -> beam.PCollection:
        if not self._prebatched:
            examples = examples | 'Batch' >> beam.BatchElements(
                min_batch_size=self._min_batch_size, max_batch_size=self._max_batch_size
            )
        return examples | 'Predict' >> beam.ParDo(_PredictFn(self._spec, self._max_batch_size))


class PredictPerExample(beam.PTransform):
    """RunInference with `SavedModelSignatureHandler`: one `PredictionResult` per example.

    Simpler to combine with per-example Beam code; slower than `PredictExamples` on large inputs,
    as every example is a Beam element.
    """

    def __init__(
        self,
        model: SignatureSpec | str,
        *,
        min_batch_size: int = 1,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    ) -> None:
        super().__init__()
        _check_batch_sizes(min_batch_size, max_batch_size)
        self._handler = SavedModelSignatureHandler(
            spec=_as_spec(model), min_batch_size=min_batch_size, max_batch_size=max_batch_size
        )

    def expand(self, examples: beam.PCollection) -> beam.PCollection:
        return examples | RunInference(self._handler)
