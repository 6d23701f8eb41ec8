"""One signature of a SavedModel, loaded once into a tf.compat.v1 Session and run on batches.

Batch prediction feeds a batch of serialized tf.Examples in one `Session.run`, whatever the
signature takes: a signature that takes serialized examples gets them as they are; a signature
of raw tensors (the `eval` and `train` signatures, or a serving signature exported from a raw
receiver) gets them parsed inside the same graph (a string placeholder -> `parse_example` -> the
signature's inputs through `input_map`), so no record is parsed in Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator import constants, tf_errors
from savedmodel_estimator.graph_import import generate_input_map
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving import tf_example_inputs
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError, InputColumn

DEFAULT_SIGNATURE = constants.SERVING_SIGNATURE
SERVING_TAGS = constants.SERVING_TAGS
# The dtype a pass-through feature is read as, by the list kind its records hold.
PASSTHROUGH_DTYPES = {'bytes_list': tf.string, 'int64_list': tf.int64, 'float_list': tf.float32}

_INPUT_SCOPE = 'signature_runner_input'


class SignatureNotFoundError(ValueError):
    """The SavedModel has no MetaGraph with the requested tags, or no such signature in it."""


@dataclasses.dataclass(frozen=True)
class SignatureSpec:
    """Which signature of which SavedModel to run, and what to read beside its inputs.

    Hashable, so it keys the per-process cache of loaded models.

    Args:
        export_dir: The SavedModel directory.
        signature_name: A signature key of the MetaGraph (`serving_default`, `predict`, `eval`).
        tags: The MetaGraph's tags, exactly (`('serve',)`, `('eval',)`).
        passthrough_features: `(name, dtype)` pairs of tf.Example features to read beside the
            predictions (an id, to join them back), as variable-length lists.
        input_columns: How to read a raw signature's inputs from tf.Examples; by default as
            `tf_example_inputs.signature_columns` says.
        output_keys: Run only these outputs (all by default); every output run must have the
            batch as its first dimension.
    """

    export_dir: str
    signature_name: str = DEFAULT_SIGNATURE
    tags: tuple[str, ...] = SERVING_TAGS
    passthrough_features: tuple[tuple[str, tf.dtypes.DType], ...] = ()
    input_columns: tuple[InputColumn, ...] | None = None
    output_keys: tuple[str, ...] | None = None


class BatchResult(NamedTuple):
    """A batch's outputs by signature output key, and its pass-through features by name.

    Dense outputs are numpy arrays whose first dimension is the batch; SparseTensor outputs and
    every pass-through feature are `tf.compat.v1.SparseTensorValue`s.
    """

    outputs: dict[str, Any]
    passthrough: dict[str, Any]


def find_signature(
    reader: SavedModelReader, signature_name: str, tags: Sequence[str]
) -> tuple[meta_graph_pb2.MetaGraphDef, meta_graph_pb2.SignatureDef]:
    """The MetaGraph tagged exactly `tags` and its signature `signature_name`.

    Raises:
        SignatureNotFoundError: naming the tag sets or signatures the SavedModel does have.
    """
    for meta_graph in reader.saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == set(tags):
            break
    else:
        raise SignatureNotFoundError(
            f'SavedModel at {reader.export_dir!r} has no MetaGraph tagged {sorted(tags)} '
            f'(tag sets: {reader.tag_sets}). Pass one of those as tags.'
        )
    if signature_name not in meta_graph.signature_def:
        raise SignatureNotFoundError(
            f'SavedModel at {reader.export_dir!r} has no signature {signature_name!r} in its '
            f'{sorted(tags)} MetaGraph (signatures: {sorted(meta_graph.signature_def)}).'
        )
    return meta_graph, meta_graph.signature_def[signature_name]


def _input_tensors(
    signature_def: meta_graph_pb2.SignatureDef,
    serialized: tf.Tensor,
    columns: Sequence[InputColumn] | None,
) -> dict[str, Any]:
    if columns is None:
        ((key, _),) = signature_def.inputs.items()
        return {key: serialized}
    return tf_example_inputs.parse_batch(serialized, columns)


def _output_fetches(
    graph: tf.Graph,
    signature_def: meta_graph_pb2.SignatureDef,
    spec: SignatureSpec,
    input_map: Mapping[str, Any],
) -> dict[str, Any]:
    keys = sorted(signature_def.outputs)
    if spec.output_keys is not None:
        unknown = sorted(set(spec.output_keys) - set(keys))
        if unknown:
            raise SignatureNotFoundError(
                f'The {spec.signature_name!r} signature of the SavedModel at '
                f'{spec.export_dir!r} has no output {unknown[0]!r} (outputs: {keys}).'
            )
        keys = list(spec.output_keys)

    def tensor(name: str) -> Any:
        # An output that is an input tensor itself is the tensor the input was mapped to.
        op_name, _, index = name.partition(':')
        if index in ('', '0') and op_name in input_map:
            return input_map[op_name]
        return graph.get_tensor_by_name(name)

    fetches: dict[str, Any] = {}
    for key in keys:
        info = signature_def.outputs[key]
        if info.WhichOneof('encoding') == 'coo_sparse':
            sparse = info.coo_sparse
            names = [
                sparse.indices_tensor_name,
                sparse.values_tensor_name,
                sparse.dense_shape_tensor_name,
            ]
            fetches[key] = tf.SparseTensor(*(tensor(n) for n in names))
        elif info.name:
            fetches[key] = tensor(info.name)
        else:
            tf.compat.v1.logging.warning(f'Output {key!r} has no tensor name; it is skipped.')
    return fetches


class SignatureRunner:
    """A loaded signature: feed it serialized tf.Examples or arrays, get numpy outputs back.

    Args:
        spec: The SavedModel, signature, tags and pass-through features.
        session_config: A `tf.compat.v1.ConfigProto` for the session.

    Raises:
        SavedModelFormatError: (a ValueError) the directory is not a readable SavedModel.
        SignatureNotFoundError: (a ValueError) no such MetaGraph or signature.
        ExampleFormatError: (a ValueError) a raw input cannot be read from tf.Examples.
    """

    def __init__(self, spec: SignatureSpec, session_config: Any = None) -> None:
        self.spec = spec
        reader = SavedModelReader(spec.export_dir)
        _, self.signature_def = find_signature(reader, spec.signature_name, spec.tags)
        self.takes_serialized_examples = tf_example_inputs.takes_serialized_examples(
            self.signature_def
        )
        self.columns: list[InputColumn] | None = None
        if not self.takes_serialized_examples:
            self.columns = list(
                spec.input_columns
                or tf_example_inputs.signature_columns(self.signature_def, spec.signature_name)
            )
        self.graph = tf.Graph()
        with self.graph.as_default():
            with tf.name_scope(_INPUT_SCOPE):
                self._serialized = tf.compat.v1.placeholder(tf.string, [None], 'serialized')
                self._inputs = _input_tensors(self.signature_def, self._serialized, self.columns)
                passthrough = {
                    name: tf.io.VarLenFeature(dtype) for name, dtype in spec.passthrough_features
                }
                self._passthrough = (
                    tf.io.parse_example(self._serialized, passthrough) if passthrough else {}
                )
            loader = internal.saved_model_loader(spec.export_dir)
            input_map = generate_input_map(self.signature_def, self._inputs, None)
            saver, _ = loader.load_graph(self.graph, list(spec.tags), input_map=input_map)
            self.session = tf.compat.v1.Session(graph=self.graph, config=session_config)
            loader.restore_variables(self.session, saver)
            loader.run_init_ops(self.session, list(spec.tags))
            self._outputs = _output_fetches(self.graph, self.signature_def, spec, input_map)
        self.graph.finalize()

    @property
    def method_name(self) -> str:
        return self.signature_def.method_name

    @property
    def output_keys(self) -> list[str]:
        return list(self._outputs)

    def run(
        self, records: Sequence[bytes], *, source: str = 'the input', first_index: int = 0
    ) -> BatchResult:
        """Runs the signature on a batch of serialized tf.Examples in one `Session.run`.

        Args:
            records: The serialized tf.Examples.
            source: Where the records come from (a file name), for error messages.
            first_index: The index of `records[0]` in `source`, for error messages.

        Raises:
            ExampleFormatError: (a ValueError) a record is not a tf.Example or lacks what the
                signature reads, naming the source, the record and the feature.
        """
        feed = {self._serialized: np.asarray(records, dtype=object)}
        try:
            outputs, passthrough = self.session.run((self._outputs, self._passthrough), feed)
        except tf.errors.InvalidArgumentError as err:
            raise self._explain(records, source, first_index, err) from err
        _check_batch_major(outputs, len(records), self.spec.signature_name)
        return BatchResult(outputs, passthrough)

    def run_features(self, features: Mapping[str, Any]) -> dict[str, Any]:
        """Runs the signature on arrays: `{input key: batch-major array or SparseTensorValue}`.

        Raises:
            ValueError: an input is missing or unknown.
        """
        if set(features) != set(self._inputs):
            raise ValueError(
                f'The {self.spec.signature_name!r} signature takes inputs {sorted(self._inputs)}'
                f', but {sorted(features)} were given.'
            )
        feed = {self._inputs[key]: value for key, value in features.items()}
        return dict(self.session.run(self._outputs, feed))

    def close(self) -> None:
        self.session.close()

    def _explain(
        self, records: Sequence[bytes], source: str, first_index: int, err: tf.errors.OpError
    ) -> Exception:
        """The error that says which record fails, and why (run only after a failure)."""
        if self.columns is not None:
            tf_example_inputs.check_records(
                records, self.columns, source, self.spec.signature_name, first_index
            )
        reason = tf_errors.reason(err)
        for offset, record in enumerate(records if len(records) > 1 else ()):
            try:
                self.session.run(self._outputs, {self._serialized: [record]})
            except tf.errors.InvalidArgumentError as record_err:
                return ExampleFormatError(
                    f'Record {first_index + offset} of {source!r} cannot be read by the '
                    f'{self.spec.signature_name!r} signature of the SavedModel at '
                    f'{self.spec.export_dir!r}: {tf_errors.reason(record_err)}'
                )
        return ExampleFormatError(
            f'Records {first_index} to {first_index + len(records) - 1} of {source!r} cannot be '
            f'read by the {self.spec.signature_name!r} signature of the SavedModel at '
            f'{self.spec.export_dir!r}: {reason}'
        )


def _check_batch_major(outputs: Mapping[str, Any], size: int, signature_name: str) -> None:
    for key, value in outputs.items():
        if isinstance(value, tf.compat.v1.SparseTensorValue):
            shape = [int(d) for d in value.dense_shape]
        else:
            shape = list(np.shape(value))
        if not shape or shape[0] != size:
            raise ValueError(
                f'Output {key!r} of the {signature_name!r} signature has shape {shape}, but a '
                f'batch of {size} records needs the batch as its first dimension; it cannot be '
                'split per record. Choose the per-record outputs with output_keys.'
            )
