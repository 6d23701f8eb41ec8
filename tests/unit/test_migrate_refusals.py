"""migrate() on tiny exports built here: what it refuses and why, labels, and atomic writes.

Every refusal is a `MigrationError` (a ValueError) naming the op or input and the MetaGraph,
raised before anything is written; an output directory that holds anything is never touched.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelFormatError
from savedmodel_estimator.migration import MigrationError, migrate
from savedmodel_estimator.migration.writer import write_atomically

pytestmark = pytest.mark.core
v1 = tf.compat.v1

TRAIN, EVAL = 'tensorflow/supervised/training', 'tensorflow/supervised/eval'
PREDICT = 'tensorflow/serving/predict'


def _signature(inputs: dict, outputs: dict, method: str):
    info = v1.saved_model.build_tensor_info
    return v1.saved_model.signature_def_utils.build_signature_def(
        {k: info(t) for k, t in inputs.items()}, {k: info(t) for k, t in outputs.items()}, method
    )


def _model(mode: str, label_key: str, weight: Callable[[], tf.Tensor]):
    """y ~ w * x: the tensors of one mode's graph, and its signature."""
    global_step = v1.train.get_or_create_global_step()
    x = v1.placeholder(tf.float32, [None], name='x')
    w = weight()
    prediction = tf.identity(w * x, name='prediction')
    if mode == 'serve':
        return _signature({'x': x}, {'prediction': prediction}, PREDICT)
    y = v1.placeholder(tf.float32, [None], name=label_key)
    loss = tf.reduce_mean(tf.square(prediction - y))
    inputs = {'x': x, label_key: y}
    if mode == 'train':
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step)
        v1.add_to_collection('saved_model_train_op', train_op)
        return _signature(inputs, {'loss': loss}, TRAIN)
    value, update = v1.metrics.mean_absolute_error(y, prediction)
    outputs = {'loss': loss, 'metrics/mae/value': value, 'metrics/mae/update_op': update}
    return _signature(inputs, outputs, EVAL)


def tiny_export(
    export_dir: pathlib.Path,
    *,
    label_key: str = 'label',
    weight: Callable[[], tf.Tensor] = lambda: v1.get_variable('w', initializer=2.0),
    modes: tuple[str, ...] = ('train', 'eval', 'serve'),
) -> pathlib.Path:
    """An export with the given modes' MetaGraphs sharing one variable `w` (2.0)."""
    builder = v1.saved_model.Builder(str(export_dir))
    for i, mode in enumerate(modes):
        with tf.Graph().as_default(), v1.Session() as session:
            signature = _model(mode, label_key, weight)
            key = 'serving_default' if mode == 'serve' else mode
            session.run([v1.global_variables_initializer(), v1.local_variables_initializer()])
            main_op = v1.local_variables_initializer()
            if i == 0:
                builder.add_meta_graph_and_variables(
                    session, [mode], {key: signature}, main_op=main_op
                )
            else:
                builder.add_meta_graph([mode], {key: signature}, main_op=main_op)
    builder.save()
    return export_dir


def test_a_tiny_export_migrates_with_shared_variables(tmp_path):
    result = migrate(tiny_export(tmp_path / 'export'), tmp_path / 'out')
    assert result.label_keys == ('label',)
    assert result.endpoints == (
        'metrics',
        'reset_metrics',
        'serve',
        'train_step',
        'update_metrics',
    )
    loaded = tf.saved_model.load(str(tmp_path / 'out'))
    x, y = tf.constant([1.0, 2.0]), tf.constant([3.0, 6.0])
    np.testing.assert_allclose(loaded.serve(x)['prediction'], [2.0, 4.0])
    loss = loaded.train_step({'x': x}, y)
    assert float(loss) == pytest.approx(2.5)  # ((2-3)^2 + (4-6)^2) / 2, before the update
    # w += 0.1 * mean(2 * (y - wx) * x) = 2 + 0.1 * 5 = 2.5: serving sees the new weight.
    np.testing.assert_allclose(loaded.serve(x)['prediction'], [2.5, 5.0])
    loaded.update_metrics({'x': x}, y)
    metrics = {k: float(v) for k, v in loaded.metrics().items()}
    assert metrics == pytest.approx({'metrics/mae': 0.75, 'loss': 0.625, 'global_step': 1.0})
    loaded.reset_metrics()
    assert float(loaded.metrics()['metrics/mae']) == 0.0
    assert [v.name for v in loaded.variables] == ['global_step:0', 'w:0']
    assert [v.name for v in loaded.trainable_variables] == ['w:0']


def test_labels_are_named_when_not_called_label(tmp_path):
    export = tiny_export(tmp_path / 'export', label_key='y')
    with pytest.raises(
        MigrationError, match=r"the 'train' signature has no input named 'label' .*label_keys="
    ):
        migrate(export, tmp_path / 'out')
    with pytest.raises(MigrationError, match=r"label keys \['nope'\] are not inputs of the"):
        migrate(export, tmp_path / 'out', label_keys=['nope'])
    assert not (tmp_path / 'out').exists()
    migrate(export, tmp_path / 'out', label_keys=['y'])
    loaded = tf.saved_model.load(str(tmp_path / 'out'))
    loaded.train_step({'x': tf.constant([1.0])}, tf.constant([2.0]))


def test_reference_variables_are_refused(tmp_path):
    def ref_variable() -> tf.Tensor:
        return v1.Variable(2.0, name='w', use_resource=False)

    export = tiny_export(tmp_path / 'export', weight=ref_variable, modes=('serve',))
    with pytest.raises(
        MigrationError,
        match=r"VariableV2 op 'w' \(signature 'serving_default' of the 'serve' MetaGraph\) is a "
        r'TF1 reference variable',
    ):
        migrate(export, tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def test_python_functions_are_refused(tmp_path):
    def python_weight() -> tf.Tensor:
        return v1.py_func(lambda: np.float32(2.0), [], tf.float32, name='from_python')

    export = tiny_export(tmp_path / 'export', weight=python_weight, modes=('serve',))
    with pytest.raises(MigrationError, match=r"PyFunc op 'from_python' .* calls a Python function"):
        migrate(export, tmp_path / 'out')


def test_an_output_dir_that_holds_anything_is_refused_untouched(tmp_path):
    export = tiny_export(tmp_path / 'export', modes=('serve',))
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'keep.txt').write_text('mine')
    with pytest.raises(
        FileExistsError, match=r"output_dir .*out' is not empty \(found: keep.txt\)"
    ):
        migrate(export, tmp_path / 'out')
    assert [p.name for p in (tmp_path / 'out').iterdir()] == ['keep.txt']
    (tmp_path / 'file').write_text('')
    with pytest.raises(FileExistsError, match='is a file'):
        migrate(export, tmp_path / 'file')
    (tmp_path / 'empty').mkdir()
    migrate(export, tmp_path / 'empty')
    assert (tmp_path / 'empty' / 'saved_model.pb').is_file()


def test_a_failed_write_leaves_nothing(tmp_path):
    def write(staging: str) -> None:
        pathlib.Path(staging).mkdir()
        (pathlib.Path(staging) / 'saved_model.pb').write_text('half')
        raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        write_atomically(str(tmp_path / 'out'), write)
    assert list(tmp_path.iterdir()) == []


def test_not_a_saved_model(tmp_path):
    with pytest.raises(SavedModelFormatError, match='the path does not exist'):
        migrate(tmp_path / 'missing', tmp_path / 'out')


def vocabulary_export(export_dir: pathlib.Path, vocabulary: pathlib.Path) -> pathlib.Path:
    """serve: words (string [None]) -> ids from a vocabulary file asset (unknown words: 3)."""
    vocabulary.write_text('green\nyellow\nred\n')
    with tf.Graph().as_default(), v1.Session() as session:
        words = v1.placeholder(tf.string, [None], name='words')
        initializer = tf.lookup.TextFileInitializer(
            str(vocabulary),
            tf.string,
            tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER,
        )
        table = tf.lookup.StaticHashTable(initializer, default_value=3)
        ids = table.lookup(words)
        session.run(v1.tables_initializer())
        builder = v1.saved_model.Builder(str(export_dir))
        builder.add_meta_graph_and_variables(
            session,
            ['serve'],
            {'serving_default': _signature({'words': words}, {'ids': ids}, PREDICT)},
            assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            main_op=v1.tables_initializer(),
        )
        builder.save()
    return export_dir


def test_a_vocabulary_file_travels_with_the_model(tmp_path):
    export = vocabulary_export(tmp_path / 'export', tmp_path / 'vocabulary.txt')
    migrate(export, tmp_path / 'out')
    # Neither the file the export was made from nor the export is needed any more.
    (tmp_path / 'vocabulary.txt').unlink()
    (export / 'assets' / 'vocabulary.txt').unlink()
    (tmp_path / 'out').rename(tmp_path / 'moved')
    assert [p.name for p in (tmp_path / 'moved' / 'assets').iterdir()] == ['vocabulary.txt']
    loaded = tf.saved_model.load(str(tmp_path / 'moved'))
    ids = loaded.serve(tf.constant(['red', 'green', 'blue']))['ids']
    assert ids.numpy().tolist() == [2, 0, 3]
