"""What an export holds: a typed summary of its modes, MetaGraphs, signatures, variables, global
step and op counts, the facts a pipeline records about a model it imports.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Iterator

import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator import checkpoints
from savedmodel_estimator.errors import SavedModelFormatError
from savedmodel_estimator.mode_keys import ALL_MODES, EXPORT_TAGS, SIGNATURE_KEYS
from savedmodel_estimator.saved_model_reader import SavedModelReader

__all__ = [
    'MetaGraphSummary',
    'SavedModelSummary',
    'SignatureSummary',
    'TensorSummary',
    'VariableSummary',
    'inspect_saved_model',
    'reader_of',
]

PathLike = str | os.PathLike[str]
Shape = tuple[int | None, ...] | None  # None: unknown rank; a None dimension: unknown size


@dataclasses.dataclass(frozen=True)
class TensorSummary:
    """One input or output of a signature."""

    key: str
    tensor_name: str  # the values tensor, for a SparseTensor
    dtype: str  # 'float32', 'string', ...
    shape: Shape
    sparse: bool = False

    def to_json(self) -> dict[str, object]:
        """`{"dtype": "string", "shape": [null]}`, plus `"sparse": true` for a SparseTensor.

        Unknown sizes are null, an unknown rank a null shape: the format of the `serving_inputs`
        property the components record.
        """
        described: dict[str, object] = {
            'dtype': self.dtype,
            'shape': None if self.shape is None else list(self.shape),
        }
        if self.sparse:
            described['sparse'] = True
        return described


@dataclasses.dataclass(frozen=True)
class SignatureSummary:
    key: str
    method_name: str
    inputs: dict[str, TensorSummary]
    outputs: dict[str, TensorSummary]


@dataclasses.dataclass(frozen=True)
class MetaGraphSummary:
    tags: tuple[str, ...]
    mode: str | None  # the Estimator mode these tags export, if any
    signatures: dict[str, SignatureSummary]
    op_counts: dict[str, int]  # nodes per op type, in the graph and its function library


@dataclasses.dataclass(frozen=True)
class VariableSummary:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclasses.dataclass(frozen=True)
class SavedModelSummary:
    """What an export holds, read from its `saved_model.pb` and its variables checkpoint."""

    path: str
    modes: tuple[str, ...]  # train, eval, infer order; those with a MetaGraph and a signature
    meta_graphs: tuple[MetaGraphSummary, ...]
    variables: tuple[VariableSummary, ...]
    global_step: int | None

    def signature(self, mode: str) -> SignatureSummary | None:
        """The signature an Estimator exported for `mode` (`train`, `eval`, `infer`), or None."""
        for meta_graph in self.meta_graphs:
            if meta_graph.mode == mode:
                return meta_graph.signatures.get(SIGNATURE_KEYS[mode])
        return None


def reader_of(source: PathLike | SavedModelReader) -> SavedModelReader:
    # Summaries never feed assets: an asset outside assets/ is the scan's to report.
    if isinstance(source, SavedModelReader):
        return source
    return SavedModelReader(source, check_assets=False)


def _dtype_name(enum: int) -> str:
    return tf.dtypes.as_dtype(enum).name if enum else 'invalid'


def _tensor_summary(key: str, info: meta_graph_pb2.TensorInfo) -> TensorSummary:
    shape_proto = tf.TensorShape(info.tensor_shape)
    shape = None if shape_proto.rank is None else tuple(shape_proto.as_list())
    sparse = info.WhichOneof('encoding') == 'coo_sparse'
    name = info.coo_sparse.values_tensor_name if sparse else info.name
    return TensorSummary(key, name, _dtype_name(info.dtype), shape, sparse)


def _signature_summary(key: str, signature: meta_graph_pb2.SignatureDef) -> SignatureSummary:
    return SignatureSummary(
        key,
        signature.method_name,
        {k: _tensor_summary(k, v) for k, v in sorted(signature.inputs.items())},
        {k: _tensor_summary(k, v) for k, v in sorted(signature.outputs.items())},
    )


def _all_nodes(
    graph_def: graph_pb2.GraphDef,
) -> Iterator[tuple[str | None, tf.compat.v1.NodeDef]]:
    """Every node of a graph and of its function library, with the function's name."""
    for node in graph_def.node:
        yield None, node
    for function in graph_def.library.function:
        for node in function.node_def:
            yield function.signature.name, node


def _meta_graph_summary(meta_graph: meta_graph_pb2.MetaGraphDef) -> MetaGraphSummary:
    tags = tuple(meta_graph.meta_info_def.tags)
    mode = next((m for m in ALL_MODES if set(EXPORT_TAGS[m]) == set(tags)), None)
    counts = collections.Counter(node.op for _, node in _all_nodes(meta_graph.graph_def))
    signatures = {
        key: _signature_summary(key, sig) for key, sig in sorted(meta_graph.signature_def.items())
    }
    return MetaGraphSummary(tags, mode, signatures, dict(sorted(counts.items())))


def _read_variables(
    reader: SavedModelReader,
) -> tuple[tuple[VariableSummary, ...], int | None]:
    """The checkpoint's variables and the value of `global_step`, if it holds one.

    Raises:
        SavedModelFormatError: the variables checkpoint is missing or cannot be read.
    """
    prefix = reader.variables_path
    try:
        checkpoint = tf.train.load_checkpoint(prefix)
        shapes = checkpoint.get_variable_to_shape_map()
        dtypes = checkpoint.get_variable_to_dtype_map()
        # Reading a value also proves the data shards are there, not just the index.
        global_step = checkpoints.global_step_in(checkpoint)
    except (tf.errors.OpError, ValueError) as err:
        raise SavedModelFormatError(
            reader.export_dir,
            f'its variables checkpoint {prefix!r} cannot be read ({err}).',
            'Copy the whole SavedModel directory, including variables/.',
        ) from err
    variables = tuple(
        VariableSummary(name, tuple(shapes[name]), dtypes[name].name)
        for name in sorted(shapes)
        if name != '_CHECKPOINTABLE_OBJECT_GRAPH'
    )
    return variables, global_step


def inspect_saved_model(source: PathLike | SavedModelReader) -> SavedModelSummary:
    """A typed summary of an export: modes, MetaGraphs, signatures, variables and global step.

    Raises:
        SavedModelFormatError: the path is not a SavedModel, or its variables cannot be read.
    """
    reader = reader_of(source)
    variables, global_step = _read_variables(reader)
    return SavedModelSummary(
        path=reader.export_dir,
        modes=tuple(reader.available_modes),
        meta_graphs=tuple(_meta_graph_summary(mg) for mg in reader.saved_model.meta_graphs),
        variables=variables,
        global_step=global_step,
    )
