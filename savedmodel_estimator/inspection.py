"""What an export holds, whether its graphs touch files or processes, and a hash of its content.

* `inspect_saved_model`: a typed summary (modes, MetaGraphs, signatures, variables, global step,
  op counts), the facts a pipeline records about a model it imports.
* `scan_ops`: the ops a model has no business running (file writes and reads outside its assets,
  Python callbacks), like `saved_model_cli scan` with a longer denylist.
* `content_hash`: a deterministic sha256 over every file of a directory.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator

import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.errors import SavedModelFormatError
from savedmodel_estimator.mode_keys import ALL_MODES, EXPORT_TAGS, SIGNATURE_KEYS
from savedmodel_estimator.saved_model_reader import SavedModelReader

PathLike = str | os.PathLike[str]
Shape = tuple[int | None, ...] | None  # None: unknown rank; a None dimension: unknown size

# Ops that read or write files, or run code outside TensorFlow, with what makes each unsafe.
UNSAFE_OPS: dict[str, str] = {
    # saved_model_cli scan's own list.
    'WriteFile': 'writes a file',
    'ReadFile': 'reads a file',
    'PrintV2': 'can write to a file (output_stream)',
    # Python callbacks: run whatever the process that loads the model has registered.
    'PyFunc': 'runs a Python function',
    'PyFuncStateless': 'runs a Python function',
    'EagerPyFunc': 'runs a Python function',
    # File system.
    'MatchingFiles': 'lists files',
    'ImmutableConst': 'memory-maps a file',
    'FileSystemSetConfiguration': 'reconfigures a file system',
    'InitializeTableFromTextFile': 'reads a file into a table',
    'InitializeTableFromTextFileV2': 'reads a file into a table',
    'Skipgram': 'reads a file',
    'RecordInput': 'reads files',
    'LoadAndRemapMatrix': 'reads a checkpoint',
    'GenerateVocabRemapping': 'reads vocabulary files',
    # Checkpoints outside the SavedModel's own saver.
    'Save': 'writes a checkpoint',
    'SaveV2': 'writes a checkpoint',
    'SaveSlices': 'writes a checkpoint',
    'MergeV2Checkpoints': 'moves and deletes checkpoint files',
    'Restore': 'reads a checkpoint',
    'RestoreV2': 'reads a checkpoint',
    'RestoreSlice': 'reads a checkpoint',
    # Readers and datasets over files.
    **dict.fromkeys(
        [
            'TFRecordReader',
            'TFRecordReaderV2',
            'WholeFileReader',
            'WholeFileReaderV2',
            'TextLineReader',
            'TextLineReaderV2',
            'FixedLengthRecordReader',
            'FixedLengthRecordReaderV2',
            'LMDBReader',
            'TFRecordDataset',
            'TFRecordDatasetV2',
            'TextLineDataset',
            'FixedLengthRecordDataset',
            'FixedLengthRecordDatasetV2',
            'CSVDataset',
            'CSVDatasetV2',
            'ExperimentalCSVDataset',
            'LMDBDataset',
            'ExperimentalLMDBDataset',
            'SqlDataset',
            'ExperimentalSqlDataset',
            'LoadDataset',
        ],
        'reads files',
    ),
    **dict.fromkeys(
        [
            'SaveDataset',
            'SaveDatasetV2',
            'SnapshotDataset',
            'SnapshotDatasetV2',
            'DatasetToTFRecord',
            'ExperimentalDatasetToTFRecord',
            'CreateSummaryFileWriter',
            'CreateSummaryDbWriter',
        ],
        'writes files',
    ),
    **dict.fromkeys(
        [
            'DebugIdentity',
            'DebugIdentityV2',
            'DebugIdentityV3',
            'DebugNanCount',
            'DebugNumericSummary',
            'DebugNumericSummaryV2',
        ],
        'can write debug dumps to files',
    ),
}

# The checkpoint ops every export's saver holds: allowed inside the MetaGraph's saver scope.
_SAVER_OPS = frozenset(
    {'Save', 'SaveV2', 'SaveSlices', 'MergeV2Checkpoints', 'Restore', 'RestoreV2', 'RestoreSlice'}
)
# Ops that read the file named by one of their inputs: allowed when that input is an asset path.
_ASSET_READERS = {
    'ReadFile': 0,
    'InitializeTableFromTextFile': 1,
    'InitializeTableFromTextFileV2': 1,
}
_PASS_THROUGH_OPS = frozenset({'Identity', 'Snapshot', 'StopGradient'})


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


@dataclasses.dataclass(frozen=True)
class UnsafeOp:
    """An op `scan_ops` flags, and where it is."""

    op_type: str
    node_name: str
    tags: tuple[str, ...]  # of the MetaGraph that holds it
    function: str | None = None  # the library function that holds it, if not the graph itself

    @property
    def reason(self) -> str:
        return UNSAFE_OPS[self.op_type]

    def __str__(self) -> str:
        where = f'MetaGraph [{", ".join(self.tags)}]'
        if self.function:
            where += f', function {self.function!r}'
        return f'{self.op_type} (node {self.node_name!r} in {where}: {self.reason})'


def _reader(source: PathLike | SavedModelReader) -> SavedModelReader:
    return source if isinstance(source, SavedModelReader) else SavedModelReader(source)


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
        global_step = None
        if 'global_step' in shapes:
            # Reading a value also proves the data shards are there, not just the index.
            global_step = int(checkpoint.get_tensor('global_step'))
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
    reader = _reader(source)
    variables, global_step = _read_variables(reader)
    return SavedModelSummary(
        path=reader.export_dir,
        modes=tuple(reader.available_modes),
        meta_graphs=tuple(_meta_graph_summary(mg) for mg in reader.saved_model.meta_graphs),
        variables=variables,
        global_step=global_step,
    )


def _asset_ops(meta_graph: meta_graph_pb2.MetaGraphDef) -> set[str]:
    """The names of the ops whose outputs the loader replaces with asset paths."""
    protos: Iterable[meta_graph_pb2.AssetFileDef] = meta_graph.asset_file_def
    legacy = meta_graph.collection_def.get(tf.compat.v1.saved_model.ASSETS_KEY)
    if not meta_graph.asset_file_def and legacy is not None:
        unpacked = []
        for value in legacy.any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            value.Unpack(asset)
            unpacked.append(asset)
        protos = unpacked
    return {asset.tensor_info.name.split(':')[0] for asset in protos}


def _comes_from(
    tensor: str, targets: set[str], nodes: dict[str, tf.compat.v1.NodeDef], depth: int = 16
) -> bool:
    """Whether `tensor` is an output of one of `targets`, through pass-through ops only."""
    name = _node_name(tensor)
    for _ in range(depth):
        if name in targets:
            return True
        node = nodes.get(name)
        if node is None or node.op not in _PASS_THROUGH_OPS or not node.input:
            return False
        name = _node_name(node.input[0])
    return False


def _node_name(tensor: str) -> str:
    """The op name of an input (`'^op'`, `'op'`, `'op:1'`)."""
    return tensor.lstrip('^').split(':')[0]


def _saver_ops(
    meta_graph: meta_graph_pb2.MetaGraphDef, nodes: dict[str, tf.compat.v1.NodeDef]
) -> set[str]:
    """The ops of the MetaGraph's own saver: in its scope, and what its save/restore ops run.

    Both conditions, so a checkpoint op merely named `save/...`, not wired into the saver the
    loader runs, is still flagged.
    """
    saver = meta_graph.saver_def
    if '/' not in saver.restore_op_name:
        return set()
    scope = saver.restore_op_name.rsplit('/', 1)[0] + '/'
    pending = [_node_name(n) for n in (saver.save_tensor_name, saver.restore_op_name) if n]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached or name not in nodes:
            continue
        reached.add(name)
        pending.extend(_node_name(i) for i in nodes[name].input)
    return {name for name in reached if name.startswith(scope)}


def _is_allowed_in_place(
    node: tf.compat.v1.NodeDef,
    saver_ops: set[str],
    assets: set[str],
    nodes: dict[str, tf.compat.v1.NodeDef],
) -> bool:
    """Whether a denylisted op does what every export does: its saver's I/O, or reading assets."""
    if node.op in _SAVER_OPS:
        return node.name in saver_ops
    if node.op in _ASSET_READERS:
        index = _ASSET_READERS[node.op]
        return len(node.input) > index and _comes_from(node.input[index], assets, nodes)
    return False


def _scan_meta_graph(
    meta_graph: meta_graph_pb2.MetaGraphDef, allowed: frozenset[str]
) -> Iterator[UnsafeOp]:
    tags = tuple(meta_graph.meta_info_def.tags)
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    saver_ops, assets = _saver_ops(meta_graph, nodes), _asset_ops(meta_graph)
    for function, node in _all_nodes(meta_graph.graph_def):
        if node.op not in UNSAFE_OPS or node.op in allowed:
            continue
        # Inside a function, inputs are the function's arguments: no way to tell they are assets.
        if function is None and _is_allowed_in_place(node, saver_ops, assets, nodes):
            continue
        yield UnsafeOp(node.op, node.name, tags, function)


def scan_ops(source: PathLike | SavedModelReader, allowed: Iterable[str] = ()) -> list[UnsafeOp]:
    """The ops of every MetaGraph that read or write files or run Python, like `saved_model_cli scan`.

    Flags the op types in `UNSAFE_OPS`, except the checkpoint ops of the MetaGraph's own saver
    (in the `save/` scope its `saver_def` names, and part of the save or restore op it names: how
    every export restores its variables) and file
    reads whose path is one of the SavedModel's assets (vocabulary files). The denylist is a
    safety net, not a sandbox: a custom op loaded from a shared library can do anything.

    Args:
        source: The SavedModel directory, or a `SavedModelReader` over it.
        allowed: Op types not to flag, for a model known to need them.

    Raises:
        ValueError: `allowed` names an op type that is not in the denylist (likely a typo).
        SavedModelFormatError: the path is not a SavedModel.
    """
    allowed = frozenset(allowed)
    unknown = sorted(allowed - UNSAFE_OPS.keys())
    if unknown:
        raise ValueError(
            f'Allowed op types {unknown} are not ones the scan flags; op types are case-sensitive '
            f'(flagged: {", ".join(sorted(UNSAFE_OPS))}).'
        )
    reader = _reader(source)
    return [op for mg in reader.saved_model.meta_graphs for op in _scan_meta_graph(mg, allowed)]


def _files(top: str) -> Iterator[tuple[str, str]]:
    """`(relative POSIX path, full path)` of every file under `top`, on any TF file system."""
    top = top.rstrip('/')
    for dirpath, _, filenames in tf.io.gfile.walk(top):
        relative_dir = dirpath[len(top) :].strip('/').replace(os.sep, '/')
        for filename in filenames:
            relative = f'{relative_dir}/{filename}' if relative_dir else filename
            yield relative, os.path.join(dirpath, filename)


def content_hash(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """The sha256 (hex) of a directory's content: every file's relative path and bytes.

    Deterministic and independent of where the directory lives: files are taken in sorted
    relative-path order, each contributing `<path>\\0<sha256 of its bytes>\\n`. Empty
    directories do not count.

    Raises:
        FileNotFoundError: the path is not a directory.
    """
    top = os.fspath(path)
    if not tf.io.gfile.isdir(top):
        raise FileNotFoundError(f'Cannot hash {top!r}: it is not a directory.')
    digest = hashlib.sha256()
    for relative, full in sorted(_files(top)):
        file_digest = hashlib.sha256()
        with tf.io.gfile.GFile(full, 'rb') as f:
            while chunk := f.read(chunk_size):
                file_digest.update(chunk)
        digest.update(f'{relative}\0{file_digest.hexdigest()}\n'.encode())
    return digest.hexdigest()
