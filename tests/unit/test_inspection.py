"""inspect_saved_model, scan_ops and content_hash on the golden exports and on tiny graphs.

The scan's hostile classes are in test_hostile_models.py, its op table in test_op_policy.py.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Callable

import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelFormatError
from savedmodel_estimator.inspection import (
    UNSAFE_OPS,
    TensorSummary,
    content_hash,
    inspect_saved_model,
    scan_ops,
)
from savedmodel_estimator.model_safety import op_policy
from savedmodel_estimator.model_safety.findings import describe_tags
from tests.support.paths import DATA, EXPORTS, SEED

pytestmark = pytest.mark.core

ALL_FIXTURES = sorted(DATA.glob('*/*/saved_model'))
HEADS = ('binary', 'multiclass', 'regressor')


def _reference(model: pathlib.Path) -> dict:
    return json.loads((model / 'reference.json').read_text())


# inspect_saved_model


def test_summary_of_the_seed_model_matches_its_reference():
    reference = _reference(SEED)
    summary = inspect_saved_model(SEED / 'saved_model')

    assert summary.modes == ('train', 'eval', 'infer')
    assert summary.global_step == reference['saved_model_estimator']['global_step_before_train']
    names = [v.name for v in summary.variables]
    assert names == sorted(reference['saved_model_estimator']['variables_in_export'])
    kernel = next(v for v in summary.variables if v.name == 'dnn/hiddenlayer_0/kernel')
    assert (kernel.shape, kernel.dtype) == ((2, 4), 'float32')

    expected = {tuple(s['tags']): s['signature_defs'] for s in reference['export']['signatures']}
    assert {mg.tags for mg in summary.meta_graphs} == set(expected)
    for meta_graph in summary.meta_graphs:
        for key, signature in meta_graph.signatures.items():
            want = expected[meta_graph.tags][key]
            assert signature.method_name == want['method_name']
            for name, info in want['inputs'].items():
                got = signature.inputs[name]
                assert (got.tensor_name, got.dtype) == (info['name'], info['dtype'])
                assert got.shape == tuple(None if d == -1 else d for d in info['shape'])


def test_summary_names_the_mode_of_each_meta_graph_and_counts_ops():
    summary = inspect_saved_model(SEED / 'saved_model')
    assert [mg.mode for mg in summary.meta_graphs] == ['train', 'eval', 'infer']
    train = summary.meta_graphs[0]
    assert train.op_counts['SaveV2'] >= 1
    assert train.op_counts['VarHandleOp'] >= len(summary.variables)


def test_serving_signature_of_the_predict_only_export():
    summary = inspect_saved_model(EXPORTS / 'dnn_classifier_predict_only' / 'saved_model')
    assert summary.modes == ('infer',)
    assert summary.signature('train') is None
    serving = summary.signature('infer')
    assert serving is not None
    assert serving.inputs == {
        'inputs': TensorSummary('inputs', 'input_example_tensor:0', 'string', (None,))
    }
    assert serving.inputs['inputs'].to_json() == {'dtype': 'string', 'shape': [None]}
    sparse = TensorSummary('s', 's/values:0', 'int64', None, sparse=True)
    assert sparse.to_json() == {'dtype': 'int64', 'shape': None, 'sparse': True}


def test_missing_variables_data_is_a_format_error(tmp_path):
    copy = tmp_path / 'saved_model'
    shutil.copytree(SEED / 'saved_model', copy)
    for data in (copy / 'variables').glob('variables.data-*'):
        data.unlink()
    with pytest.raises(SavedModelFormatError, match=r'variables checkpoint .* cannot be read'):
        inspect_saved_model(copy)


def test_not_a_saved_model_is_a_format_error(tmp_path):
    with pytest.raises(SavedModelFormatError, match=r'no saved_model.pb'):
        inspect_saved_model(tmp_path)


# scan_ops on every benign export (estimator_exports, upstream_suite, canned_exports): their
# savers and asset reads are accepted, every other op is on the allowlist.


@pytest.mark.parametrize('path', ALL_FIXTURES, ids=lambda p: p.parent.name)
def test_no_fixture_export_is_flagged(path):
    assert scan_ops(path) == []


def test_the_benign_exports_cover_every_canned_family_and_the_upstream_suite():
    names = {p.parent.name for p in ALL_FIXTURES}
    canned = {f'{f}_{h}' for f in ('dnn', 'linear', 'dnn_linear') for h in HEADS}
    assert canned | {'dnn_classifier_seed', 'assets', 'saveable_resources'} <= names
    assert len(ALL_FIXTURES) >= 26


def test_fixture_checkpoint_ops_are_the_savers_own():
    # The seed export holds SaveV2/RestoreV2 in every MetaGraph: the scan accepts them because
    # they are exactly the saver its saver_def names, not because it misses them.
    summary = inspect_saved_model(SEED / 'saved_model')
    assert all(mg.op_counts.get('RestoreV2') for mg in summary.meta_graphs)


# scan_ops on tiny graphs


def _export(
    tmp_path: pathlib.Path, build: Callable[[], dict[str, tf.Tensor]], tags=('serve',)
) -> pathlib.Path:
    """Exports a one-MetaGraph SavedModel whose graph `build` makes; returns its path.

    Tensors `build` adds to the ASSET_FILEPATHS collection become the export's assets.
    """
    export_dir = tmp_path / 'export'
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        tf.compat.v1.Variable(1.0, name='v')
        x = tf.compat.v1.placeholder(tf.string, [None], name='x')
        outputs = build()
        signature = tf.compat.v1.saved_model.predict_signature_def({'x': x}, outputs)
        sess.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(export_dir))
        builder.add_meta_graph_and_variables(
            sess,
            list(tags),
            signature_def_map={'serving_default': signature},
            assets_collection=tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS),
        )
        builder.save()
    return export_dir


def test_write_file_is_flagged_naming_op_node_and_meta_graph(tmp_path):
    def build():
        op = tf.io.write_file('/tmp/leak', tf.constant('x'), name='leak')
        with tf.control_dependencies([op]):
            return {'y': tf.constant(1.0)}

    path = _export(tmp_path, build, tags=('serve', 'gpu'))
    (unsafe,) = scan_ops(path)
    assert (unsafe.op_type, unsafe.node_name, unsafe.tags) == (
        'WriteFile',
        'leak',
        ('serve', 'gpu'),
    )
    assert str(unsafe) == (
        "WriteFile (node 'leak' in MetaGraph ['serve', 'gpu']): reads, writes, lists or maps "
        'files of the host; expected ops that touch nothing outside the process and the SavedModel'
    )


def test_py_func_is_flagged(tmp_path):
    def build():
        y = tf.compat.v1.py_func(lambda: 1.0, [], tf.float64, name='callback')
        return {'y': y}

    (unsafe,) = scan_ops(_export(tmp_path, build))
    assert unsafe.op_type == 'PyFunc'
    assert unsafe.node_name.startswith('callback')
    assert unsafe.tags == ('serve',)
    assert 'runs code that is not a TensorFlow kernel' in str(unsafe)


def test_allowed_ops_are_not_flagged(tmp_path):
    def build():
        return {'y': tf.compat.v1.py_func(lambda: 1.0, [], tf.float64)}

    assert scan_ops(_export(tmp_path, build), allowed=['PyFunc']) == []


def test_allowing_an_op_the_scan_does_not_flag_is_an_error(tmp_path):
    path = _export(tmp_path, lambda: {'y': tf.constant(1.0)})
    with pytest.raises(
        ValueError, match=r"'pyfunc' is not an op type TensorFlow .*did you mean 'PyFunc'\?"
    ):
        scan_ops(path, allowed=['pyfunc'])


def test_read_file_of_an_asset_is_not_flagged(tmp_path):
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('a\nb\n')

    def build():
        path = tf.constant(str(vocab), name='asset_path')
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, path)
        return {'y': tf.io.read_file(tf.identity(path), name='read_vocab')}

    path = _export(tmp_path, build)
    assert (path / 'assets' / 'vocab.txt').exists()
    assert inspect_saved_model(path).meta_graphs[0].op_counts['ReadFile'] == 1
    assert scan_ops(path) == []


def test_read_file_of_any_other_path_is_flagged(tmp_path):
    def build():
        return {'y': tf.io.read_file(tf.constant('/etc/passwd'), name='snoop')}

    (unsafe,) = scan_ops(_export(tmp_path, build))
    assert (unsafe.op_type, unsafe.node_name) == ('ReadFile', 'snoop')


def test_checkpoint_ops_outside_the_saver_scope_are_flagged(tmp_path):
    def build():
        op = tf.raw_ops.SaveV2(
            prefix='/tmp/stolen',
            tensor_names=['t'],
            shape_and_slices=[''],
            tensors=[tf.constant(1.0)],
            name='exfiltrate/SaveV2',
        )
        with tf.control_dependencies([op]):
            return {'y': tf.constant(1.0)}

    (unsafe,) = scan_ops(_export(tmp_path, build))
    assert (unsafe.op_type, unsafe.node_name) == ('SaveV2', 'exfiltrate/SaveV2')
    assert "not part of the MetaGraph saver (saver_def restore op 'save/restore_all')" in str(
        unsafe
    )


def test_checkpoint_ops_named_like_the_saver_but_not_wired_into_it_are_flagged(tmp_path):
    def build():
        op = tf.raw_ops.RestoreV2(
            prefix='/tmp/elsewhere',
            tensor_names=['t'],
            shape_and_slices=[''],
            dtypes=[tf.float32],
            name='save/RestoreV2_99',
        )
        return {'y': op[0]}

    path = _export(tmp_path, build)
    assert inspect_saved_model(path).meta_graphs[0].op_counts['RestoreV2'] == 2  # the saver's too
    (unsafe,) = scan_ops(path)
    assert (unsafe.op_type, unsafe.node_name) == ('RestoreV2', 'save/RestoreV2_99')


def test_unsafe_op_in_a_function_names_the_function(tmp_path):
    @tf.function(autograph=False)
    def write(x):
        tf.io.write_file('/tmp/leak', x)
        return tf.constant(1.0)

    def build():
        return {'y': write(tf.constant('x'))}

    (unsafe,) = scan_ops(_export(tmp_path, build))
    assert unsafe.op_type == 'WriteFile'
    assert unsafe.function is not None
    assert f'function {unsafe.function!r}' in str(unsafe)


def test_the_refused_op_types_keep_saved_model_cli_scans_and_give_reasons():
    assert {'WriteFile', 'ReadFile', 'PyFunc', 'MatchingFiles'} <= UNSAFE_OPS.keys()
    assert all(UNSAFE_OPS.values())
    # PrintV2 is refused only when it prints to a file (its output_stream attribute).
    assert 'PrintV2' not in UNSAFE_OPS
    assert 'output_stream' in op_policy.ATTRIBUTE_RULES['PrintV2'].attr


def test_a_meta_graph_without_tags_is_still_named():
    assert describe_tags(()) == 'MetaGraph [] (no tags)'
    assert describe_tags(('serve', 'gpu')) == "MetaGraph ['serve', 'gpu']"


# content_hash


def test_content_hash_is_deterministic_and_location_independent(tmp_path):
    copy = tmp_path / 'elsewhere'
    shutil.copytree(SEED / 'saved_model', copy)
    original = content_hash(SEED / 'saved_model')
    assert len(original) == 64
    assert content_hash(copy) == original == content_hash(str(copy) + '/')


def test_content_hash_changes_with_bytes_and_with_names(tmp_path):
    (tmp_path / 'a').write_bytes(b'1')
    before = content_hash(tmp_path)
    (tmp_path / 'a').write_bytes(b'2')
    changed_bytes = content_hash(tmp_path)
    (tmp_path / 'a').rename(tmp_path / 'b')
    renamed = content_hash(tmp_path)
    assert len({before, changed_bytes, renamed}) == 3


def test_content_hash_of_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Cannot hash '.*nope': it is not a directory"):
        content_hash(tmp_path / 'nope')
