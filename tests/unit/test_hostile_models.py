"""Hostile SavedModels, built here, each refused naming what, where and what was expected.

`HOSTILE` lists one builder per class of attack a model from outside has used or could use to
reach the host at load or serve time (the saver's own are in test_hostile_savers.py);
tests/integration/test_saved_model_importer.py imports both (as `unit.test_hostile_*`) to check
that the importer publishes nothing for any of them.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import shutil
from collections.abc import Callable

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from savedmodel_estimator.model_safety import op_policy
from savedmodel_estimator.model_safety.findings import Finding, Kind
from savedmodel_estimator.model_safety.scan import UnknownOpTypeError, scan_saved_model
from tests.support.paths import EXPORTS, SEED_SAVED_MODEL

pytestmark = pytest.mark.core

PREDICT_ONLY = EXPORTS / 'dnn_classifier_predict_only' / 'saved_model'


# -- Building hostile models -------------------------------------------------------------------


def export_graph(target: pathlib.Path, build: Callable[[], dict[str, tf.Tensor]]) -> pathlib.Path:
    """A one-MetaGraph (`serve`) SavedModel of the graph `build` makes, with a variable `v`.

    Tensors `build` adds to ASSET_FILEPATHS become the export's assets.
    """
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        tf.compat.v1.Variable(1.0, name='v')
        x = tf.compat.v1.placeholder(tf.string, [None], name='x')
        signature = tf.compat.v1.saved_model.predict_signature_def({'x': x}, build())
        sess.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(target))
        builder.add_meta_graph_and_variables(
            sess,
            ['serve'],
            signature_def_map={'serving_default': signature},
            assets_collection=tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS),
        )
        builder.save()
    return target


def edit_copy(
    source: pathlib.Path, target: pathlib.Path, tag: str, edit: Callable[..., None]
) -> pathlib.Path:
    """A copy of `source` whose `tag` MetaGraph `edit(meta_graph)` has changed."""
    shutil.copytree(source, target)
    pb = target / 'saved_model.pb'
    saved_model = saved_model_pb2.SavedModel.FromString(pb.read_bytes())
    (meta_graph,) = (m for m in saved_model.meta_graphs if list(m.meta_info_def.tags) == [tag])
    edit(meta_graph)
    pb.write_bytes(saved_model.SerializeToString())
    return target


def add_const(graph: tf.compat.v1.GraphDef, name: str, value: bytes) -> None:
    node = graph.node.add(name=name, op='Const')
    node.attr['dtype'].type = tf.string.as_datatype_enum
    node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(value))


def node(meta_graph: meta_graph_pb2.MetaGraphDef, name: str) -> tf.compat.v1.NodeDef:
    return next(n for n in meta_graph.graph_def.node if n.name == name)


def vocabulary_reader(tmp_path: pathlib.Path) -> pathlib.Path:
    """An export whose graph reads its asset `vocab.txt` (accepted as it is)."""
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('a\nb\n')

    def build() -> dict[str, tf.Tensor]:
        path = tf.constant(str(vocab), name='asset_path')
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, path)
        return {'y': tf.io.read_file(tf.identity(path), name='read_vocab')}

    return export_graph(tmp_path / 'export', build)


def set_asset_filename(meta_graph: meta_graph_pb2.MetaGraphDef, filename: str) -> None:
    if meta_graph.asset_file_def:
        meta_graph.asset_file_def[0].filename = filename
        return
    packed = meta_graph.collection_def[tf.compat.v1.saved_model.ASSETS_KEY].any_list.value[0]
    asset = meta_graph_pb2.AssetFileDef()
    packed.Unpack(asset)
    asset.filename = filename
    packed.Pack(asset)


def attribute_vocab_file(tmp_path: pathlib.Path) -> pathlib.Path:
    host_file = tmp_path / 'host_vocabulary.txt'
    host_file.write_text('secret\n')

    def build() -> dict[str, tf.Tensor]:
        sampled = tf.raw_ops.FixedUnigramCandidateSampler(
            true_classes=tf.constant([[0]], tf.int64),
            num_true=1,
            num_sampled=1,
            unique=True,
            range_max=1,
            vocab_file=str(host_file),
            name='sampler',
        )
        return {'y': sampled[0]}

    return export_graph(tmp_path / 'export', build)


def attribute_print_to_file(tmp_path: pathlib.Path) -> pathlib.Path:
    def build() -> dict[str, tf.Tensor]:
        stream = f'file://{tmp_path}/leak.txt'
        op = tf.raw_ops.PrintV2(input=tf.constant('x'), output_stream=stream, name='print')
        with tf.control_dependencies([op]):
            return {'y': tf.constant(1.0)}

    return export_graph(tmp_path / 'export', build)


def asset_outside_assets(tmp_path: pathlib.Path) -> pathlib.Path:
    exported = vocabulary_reader(tmp_path)
    return edit_copy(
        exported,
        tmp_path / 'hostile',
        'serve',
        lambda mg: set_asset_filename(mg, '../../../../../../etc/hostname'),
    )


def asset_linked_outside(tmp_path: pathlib.Path) -> pathlib.Path:
    exported = vocabulary_reader(tmp_path)
    secret = tmp_path / 'host_secret.txt'
    secret.write_text('a\nb\n')
    (exported / 'assets' / 'vocab.txt').unlink()
    (exported / 'assets' / 'vocab.txt').symlink_to(secret)
    return exported


def unregistered_op(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        node(mg, 'dnn/zero_fraction/cond/Identity').op = 'MyCustomOp'

    return edit_copy(PREDICT_ONLY, tmp_path / 'hostile', 'serve', edit)


def unregistered_op_in_a_function(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        functions = sorted(mg.graph_def.library.function, key=lambda f: f.signature.name)
        (function,) = (
            f for f in functions if f.signature.name.startswith('dnn_zero_fraction_1_cond_false')
        )
        next(n for n in function.node_def if n.name == 'count_nonzero/Cast').op = 'MyCustomOp'

    return edit_copy(PREDICT_ONLY, tmp_path / 'hostile', 'serve', edit)


def write_in_a_function(tmp_path: pathlib.Path) -> pathlib.Path:
    @tf.function(autograph=False)
    def write_leak(contents: tf.Tensor) -> tf.Tensor:
        tf.io.write_file(str(tmp_path / 'leak'), contents, name='leak')
        return tf.constant(1.0)

    return export_graph(tmp_path / 'export', lambda: {'y': write_leak(tf.constant('x'))})


def primitive_op_through_a_function_attribute(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        add_const(mg.graph_def, 'leak/path', b'/etc/hostname')
        call = mg.graph_def.node.add(name='leak/call', op='PartitionedCall', input=['leak/path'])
        call.attr['Tin'].list.type.append(tf.string.as_datatype_enum)
        call.attr['Tout'].list.type.append(tf.string.as_datatype_enum)
        call.attr['f'].func.name = 'ReadFile'

    return edit_copy(PREDICT_ONLY, tmp_path / 'hostile', 'serve', edit)


def remote_device(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        node(mg, 'global_step').device = '/job:worker/replica:0/task:1/device:CPU:0'

    return edit_copy(SEED_SAVED_MODEL, tmp_path / 'hostile', 'serve', edit)


@dataclasses.dataclass(frozen=True)
class Hostile:
    """One hostile class: how it is built, and the finding that must name it."""

    name: str
    build: Callable[[pathlib.Path], pathlib.Path]
    kind: Kind
    op_type: str
    node: str  # a regular expression over the node name (or the file's path)
    tags: tuple[str, ...]
    message: str  # a regular expression over str(finding)
    function: bool = False  # the node is in a library function


HOSTILE = [
    Hostile(
        'file named by an op attribute (vocab_file)',
        attribute_vocab_file,
        Kind.ATTRIBUTE,
        'FixedUnigramCandidateSampler',
        'sampler',
        ('serve',),
        r"sets vocab_file='.*host_vocabulary.txt', which names a vocabulary file.*"
        r"expected vocab_file in \[''\]",
    ),
    Hostile(
        'file named by an op attribute (output_stream)',
        attribute_print_to_file,
        Kind.ATTRIBUTE,
        'PrintV2',
        'print',
        ('serve',),
        r"sets output_stream='file://.*leak.txt', which names where the text goes.*"
        r"expected output_stream in \['log\(error\)'",
    ),
    Hostile(
        'asset whose name leaves assets/ (../)',
        asset_outside_assets,
        Kind.ASSET,
        'Const',
        'asset_path',
        ('serve',),
        r"^asset '\.\./\.\./.*etc/hostname' \(node 'asset_path' in MetaGraph \['serve'\]\): "
        r".*resolves outside the SavedModel's assets/ directory.*expected a relative file name",
    ),
    Hostile(
        'asset that is a link out of the SavedModel',
        asset_linked_outside,
        Kind.FILE,
        '',
        'assets/vocab.txt',
        (),
        r"^link \(file 'assets/vocab.txt' of the SavedModel\): is a symbolic link to "
        r"'.*host_secret.txt', outside the SavedModel",
    ),
    Hostile(
        'op type no TensorFlow registers',
        unregistered_op,
        Kind.UNREGISTERED,
        'MyCustomOp',
        'dnn/zero_fraction/cond/Identity',
        ('serve',),
        r"^MyCustomOp \(node 'dnn/zero_fraction/cond/Identity' in MetaGraph \['serve'\]\): "
        r'no op of this type is registered in TensorFlow .*custom-op library.*'
        r'expected only ops TensorFlow registers',
    ),
    Hostile(
        'unregistered op in a library function',
        unregistered_op_in_a_function,
        Kind.UNREGISTERED,
        'MyCustomOp',
        'count_nonzero/Cast',
        ('serve',),
        r"\['serve'\], function 'dnn_zero_fraction_1_cond_false.*custom-op library",
        function=True,
    ),
    Hostile(
        'file write in a library function',
        write_in_a_function,
        Kind.OP,
        'WriteFile',
        'leak',
        ('serve',),
        r"^WriteFile \(node 'leak' in MetaGraph \['serve'\], function '.*write_leak.*'\): "
        r'reads, writes, lists or maps files of the host; expected ops that touch nothing',
        function=True,
    ),
    Hostile(
        'op called through a function attribute',
        primitive_op_through_a_function_attribute,
        Kind.OP,
        'ReadFile',
        'leak/call',
        ('serve',),
        r"calls 'ReadFile' through its attribute 'f': not a library function but an op that "
        r'reads, writes, lists or maps files',
    ),
    Hostile(
        'node pinned to a remote device',
        remote_device,
        Kind.DEVICE,
        'VarHandleOp',
        'global_step',
        ('serve',),
        r"^VarHandleOp \(node 'global_step' in MetaGraph \['serve'\]\): is pinned to "
        r"'/job:worker/replica:0/task:1/device:CPU:0', a device of another process; expected "
        r'no device, or one of this process',
    ),
]


def matching(findings: list[Finding], hostile: Hostile) -> list[Finding]:
    return [
        f
        for f in findings
        if f.kind is hostile.kind
        and f.op_type == hostile.op_type
        and re.fullmatch(hostile.node, f.node_name)
        and f.tags == hostile.tags
        and (f.function is not None) == hostile.function
        and re.search(hostile.message, str(f))
    ]


# -- The scan refuses each class -----------------------------------------------------------------


@pytest.mark.parametrize('hostile', HOSTILE, ids=lambda h: h.build.__name__)
def test_each_hostile_class_is_refused_naming_what_where_and_what_was_expected(tmp_path, hostile):
    findings = scan_saved_model(hostile.build(tmp_path))
    assert matching(findings, hostile), '\n'.join(map(str, findings))


@pytest.mark.parametrize(
    'hostile', [h for h in HOSTILE if h.kind.allowable], ids=lambda h: h.build.__name__
)
def test_allowing_the_op_type_by_name_accepts_that_finding_only(tmp_path, hostile):
    path = hostile.build(tmp_path)
    assert not matching(scan_saved_model(path, allowed=[hostile.op_type]), hostile)


@pytest.mark.parametrize(
    'hostile', [h for h in HOSTILE if not h.kind.allowable], ids=lambda h: h.build.__name__
)
def test_what_no_name_can_allow_stays_refused(tmp_path, hostile):
    path = hostile.build(tmp_path)
    allowed = [hostile.op_type] if hostile.op_type and hostile.kind is not Kind.UNREGISTERED else []
    assert matching(scan_saved_model(path, allowed=allowed), hostile)


def test_an_unregistered_op_cannot_be_allowed():
    with pytest.raises(UnknownOpTypeError, match=r"'MyCustomOp' is not an op type TensorFlow"):
        scan_saved_model(PREDICT_ONLY, allowed=['MyCustomOp'])


def test_the_read_of_an_asset_with_a_name_inside_assets_is_accepted(tmp_path):
    assert scan_saved_model(vocabulary_reader(tmp_path)) == []


def test_an_op_the_table_has_not_reviewed_is_refused_as_such(tmp_path, monkeypatch):
    real = op_policy.classify
    monkeypatch.setattr(op_policy, 'classify', lambda op: None if op == 'ReadFile' else real(op))
    path = export_graph(tmp_path / 'export', lambda: {'y': tf.io.read_file('x', name='read')})
    (finding,) = scan_saved_model(path)
    assert finding.kind is Kind.UNREVIEWED
    assert re.match(
        r"ReadFile \(node 'read' in MetaGraph \['serve'\]\): is registered by "
        r'TensorFlow .* but not reviewed in op_policy',
        str(finding),
    )


def test_a_library_function_named_like_an_op_is_scanned_as_that_op_too(tmp_path):
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        mg.graph_def.library.function.add().signature.name = 'WriteFile'
        add_const(mg.graph_def, 'leak/path', str(tmp_path / 'leak').encode())
        add_const(mg.graph_def, 'leak/contents', b'x')
        mg.graph_def.node.add(name='leak', op='WriteFile', input=['leak/path', 'leak/contents'])

    path = edit_copy(PREDICT_ONLY, tmp_path / 'hostile', 'serve', edit)
    assert [(f.op_type, f.node_name) for f in scan_saved_model(path)] == [('WriteFile', 'leak')]
