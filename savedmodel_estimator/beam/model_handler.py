"""A RunInference `ModelHandler` over one signature of a SavedModel.

    with beam.Pipeline() as p:
        results = (
            p
            | beam.io.ReadFromTFRecord('eval-*.gz')
            | RunInference(SavedModelSignatureHandler('/models/1700000000', max_batch_size=4096))
        )

Elements are serialized tf.Examples (parsed inside the model's graph when the signature takes raw
tensors) or dicts of numpy arrays, one example each. Each result is a `PredictionResult` whose
`inference` maps output keys to that example's values.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from savedmodel_estimator.encoding.batches import SparseValue, row_values
from savedmodel_estimator.serving.signature_runner import (
    DEFAULT_SIGNATURE,
    SERVING_TAGS,
    SignatureRunner,
    SignatureSpec,
)

Example = bytes | Mapping[str, Any]

# One loaded model per process for each spec, alive while a DoFn or RunInference holds it.
_RUNNERS: weakref.WeakValueDictionary[SignatureSpec, SignatureRunner] = (
    weakref.WeakValueDictionary()
)
_LOAD_LOCK = threading.Lock()


def load_runner(spec: SignatureSpec) -> SignatureRunner:
    """The process's loaded `SignatureRunner` for `spec`, loading it on first use.

    Threads of a worker share one session (`Session.run` is thread-safe), so a model is in memory
    once per process however many DoFn instances or transforms use it.
    """
    with _LOAD_LOCK:
        runner = _RUNNERS.get(spec)
        if runner is None:
            runner = SignatureRunner(spec)
            _RUNNERS[spec] = runner
        return runner


def stack_examples(examples: Sequence[Mapping[str, Any]], sparse_keys: set[str]) -> dict[str, Any]:
    """A batch from per-example dicts: dense inputs stacked, sparse ones (lists) as COO values."""
    keys = set(examples[0])
    for index, example in enumerate(examples):
        if set(example) != keys:
            raise ValueError(
                f'Example {index} of the batch has inputs {sorted(example)}, but example 0 has '
                f'{sorted(keys)}; every example must have the same inputs.'
            )
    batch: dict[str, Any] = {}
    for key in keys:
        values = [np.asarray(example[key]) for example in examples]
        if key not in sparse_keys:
            batch[key] = np.stack(values)
            continue
        flat = [v.reshape(-1) for v in values]
        indices = [[row, col] for row, v in enumerate(flat) for col in range(len(v))]
        batch[key] = SparseValue(
            np.asarray(indices, np.int64).reshape(-1, 2),
            np.concatenate(flat) if flat else np.zeros([0]),
            np.asarray([len(flat), max((len(v) for v in flat), default=0)], np.int64),
        )
    return batch


class SavedModelSignatureHandler(ModelHandler[Example, PredictionResult, SignatureRunner]):
    """Runs one signature of a SavedModel on batches of examples.

    Args:
        export_dir: The SavedModel directory (any filesystem TensorFlow reads).
        signature_name: A signature key of the MetaGraph.
        tags: The MetaGraph's tags.
        output_keys: Only these outputs (all by default).
        min_batch_size: The smallest batch `BatchElements` makes.
        max_batch_size: The largest batch `BatchElements` makes.
        spec: A full `SignatureSpec` instead of the four arguments above.
        **kwargs: Passed to `ModelHandler` (`large_model`, `model_copies`,
            `max_batch_duration_secs`, ...).
    """

    def __init__(
        self,
        export_dir: str | None = None,
        signature_name: str = DEFAULT_SIGNATURE,
        tags: Sequence[str] = SERVING_TAGS,
        *,
        output_keys: Sequence[str] | None = None,
        min_batch_size: int | None = None,
        max_batch_size: int | None = None,
        spec: SignatureSpec | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size, **kwargs)
        if spec is None:
            if export_dir is None:
                raise TypeError(
                    "SavedModelSignatureHandler() missing 1 required argument: 'export_dir'."
                )
            keys = tuple(output_keys) if output_keys is not None else None
            spec = SignatureSpec(export_dir, signature_name, tuple(tags), output_keys=keys)
        self.spec = spec

    def load_model(self) -> SignatureRunner:
        return load_runner(self.spec)

    def run_inference(
        self,
        batch: Sequence[Example],
        model: SignatureRunner,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        if all(isinstance(example, bytes) for example in batch):
            outputs = model.run(list(batch)).outputs  # type: ignore[arg-type]
        elif all(isinstance(example, Mapping) for example in batch):
            sparse = {k for k, v in model.signature_def.inputs.items() if v.HasField('coo_sparse')}
            outputs = model.run_features(stack_examples(batch, sparse))  # type: ignore[arg-type]
        else:
            kinds = sorted({type(example).__name__ for example in batch})
            raise TypeError(
                'SavedModelSignatureHandler takes serialized tf.Examples (bytes) or dicts of '
                f'arrays, one kind per batch; the batch holds {kinds}.'
            )
        rows = {key: row_values(value, len(batch)) for key, value in outputs.items()}
        return [
            PredictionResult(example, {key: rows[key][i] for key in rows}, self.spec.export_dir)
            for i, example in enumerate(batch)
        ]

    def get_num_bytes(self, batch: Sequence[Example]) -> int:
        if all(isinstance(example, bytes) for example in batch):
            return sum(len(example) for example in batch)
        return super().get_num_bytes(batch)

    def get_metrics_namespace(self) -> str:
        return 'SavedModelSignature'

    def validate_inference_args(self, inference_args: dict[str, Any] | None) -> None:
        if inference_args:
            raise ValueError(
                'SavedModelSignatureHandler takes no inference_args; '
                f'given: {sorted(inference_args)}.'
            )
