#!/usr/bin/env python3
"""Export small models with the REAL tf.estimator, for the side-by-side tests.

Runs only in .venv-reference (tensorflow==2.15.1, tensorflow-estimator==2.15.0). Usage:

    export_reference_models.py [--only NAME ...] [--expected] OUT_DIR

For each model it writes OUT_DIR/<name>/saved_model/: train, eval and serve MetaGraphs exported
with `experimental_export_all_saved_models` after `TRAIN_STEPS` steps. `--expected` also writes
OUT_DIR/docs_example/expected.json: what the real SavedModelEstimator returned for the
documentation's step 3 on that export (tests/integration/test_seed_example.py compares with it).

Models (beyond tests/data/estimator_exports/):
    docs_example   the SavedModelEstimator docstring's DNNClassifier, exported as it says.
    dnn_regressor  a DNNRegressor for hooks, max_steps, checkpoint_path and batch predictions.
    sparse_input   a model_fn whose train, eval and serve signatures take a SparseTensor.

    export_reference_models.py --golden NAME tests/data/estimator_exports

writes a golden of tests/data/estimator_exports/ instead (see GOLDENS and FIXTURES.md): the
SavedModel, its data files, and `reference.json` recorded from the real SavedModelEstimator
the way the other goldens were recorded.

The input functions and receivers are module functions, so tests in .venv-reference import them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
import tensorflow as tf
from tensorflow_estimator.python.estimator.canned.saved_model_estimator import (
    SavedModelEstimator,
)
from tensorflow_estimator.python.estimator.export import export_lib

ModeKeys = tf.estimator.ModeKeys
SEED = 42
TRAIN_STEPS = 10
SPARSE_VOCAB = 6
# The goldens of tests/data/estimator_exports/ this tool writes (tools/export_golden.py).
GOLDEN_NAMES = ('dnn_classifier_partitioned',)


# -- docs_example: the SavedModelEstimator docstring, steps 1 and 2 ---------------------------


def docs_columns() -> list[Any]:
    feature1 = tf.feature_column.embedding_column(
        tf.feature_column.categorical_column_with_vocabulary_list(
            key='feature1', vocabulary_list=('green', 'yellow')
        ),
        dimension=1,
    )
    feature2 = tf.feature_column.numeric_column(key='feature2', default_value=0.0)
    return [feature1, feature2]


def docs_input_fn() -> tf.data.Dataset:
    features = {
        'feature1': tf.constant(['green', 'green', 'yellow']),
        'feature2': tf.constant([3.5, 4.2, 6.1]),
    }
    label = tf.constant([1.0, 0.0, 0.0])
    return tf.data.Dataset.from_tensors((features, label)).repeat()


def docs_predict_input_fn() -> dict[str, tf.Tensor]:
    example = tf.train.Example()
    example.features.feature['feature1'].bytes_list.value.extend([b'yellow'])
    example.features.feature['feature2'].float_list.value.extend([1.0])
    return {'inputs': tf.constant([example.SerializeToString()])}


def docs_receiver_fns(export: Any = export_lib) -> dict[str, Callable[[], Any]]:
    """The docstring's receivers, built with `export` (export_lib or savedmodel_estimator.export)."""
    with tf.Graph().as_default():  # the docstring's tf.placeholder needs a graph in TF 2
        features = {
            'feature1': tf.compat.v1.placeholder(dtype=tf.string, shape=[None]),
            'feature2': tf.compat.v1.placeholder(dtype=tf.float32, shape=[None]),
        }
        label = tf.compat.v1.placeholder(dtype=tf.float32, shape=[None])
    supervised = export.build_raw_supervised_input_receiver_fn(features, label)
    serving = export.build_parsing_serving_input_receiver_fn(
        tf.feature_column.make_parse_example_spec(docs_columns())
    )
    return {ModeKeys.TRAIN: supervised, ModeKeys.EVAL: supervised, ModeKeys.PREDICT: serving}


def docs_estimator(model_dir: str) -> tf.estimator.Estimator:
    config = tf.estimator.RunConfig(model_dir=model_dir, tf_random_seed=SEED)
    return tf.estimator.DNNClassifier(
        hidden_units=[4, 2], feature_columns=docs_columns(), config=config
    )


# -- dnn_regressor ----------------------------------------------------------------------------


def regressor_data(n_rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    x = rng.uniform(-1.0, 1.0, size=(n_rows, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    return x, (y + rng.normal(0.0, 0.05, size=y.shape)).astype(np.float32)


def regressor_input_fn() -> tf.data.Dataset:
    x, y = regressor_data()
    return tf.data.Dataset.from_tensors(({'x': x}, y)).repeat()


def regressor_examples(n_rows: int = 8) -> np.ndarray:
    """The first `n_rows` feature rows as serialized tf.Examples (for the serving signature)."""
    x, _ = regressor_data()
    records = []
    for row in x[:n_rows]:
        example = tf.train.Example()
        example.features.feature['x'].float_list.value.extend(row.tolist())
        records.append(example.SerializeToString())
    return np.array(records, dtype=object)


def regressor_predict_input_fn() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors({'inputs': regressor_examples()})


def regressor_receiver_fns(export: Any = export_lib) -> dict[str, Callable[[], Any]]:
    with tf.Graph().as_default():
        features = {'x': tf.compat.v1.placeholder(tf.float32, [None, 3], name='x')}
        label = tf.compat.v1.placeholder(tf.float32, [None, 1], name='label')
    supervised = export.build_raw_supervised_input_receiver_fn(features, label)
    serving = export.build_parsing_serving_input_receiver_fn(
        {'x': tf.io.FixedLenFeature([3], tf.float32)}
    )
    return {ModeKeys.TRAIN: supervised, ModeKeys.EVAL: supervised, ModeKeys.PREDICT: serving}


def regressor_estimator(model_dir: str) -> tf.estimator.Estimator:
    config = tf.estimator.RunConfig(model_dir=model_dir, tf_random_seed=SEED)
    return tf.estimator.DNNRegressor(
        hidden_units=[4],
        feature_columns=[tf.feature_column.numeric_column('x', shape=[3])],
        config=config,
    )


# -- sparse_input: a SparseTensor feature in every signature ----------------------------------


def sparse_features() -> dict[str, Any]:
    """Six rows of ids (0 to 3 per row, row 3 empty) and one numeric feature."""
    rows = [[0, 2], [1], [3, 4, 5], [], [2], [5, 1]]
    indices = [[r, c] for r, ids in enumerate(rows) for c in range(len(ids))]
    values = [i for ids in rows for i in ids]
    ids = tf.SparseTensor(
        tf.constant(indices, tf.int64), tf.constant(values, tf.int64), tf.constant([6, 3], tf.int64)
    )
    x = tf.constant([[0.5], [-1.0], [2.0], [0.0], [1.5], [-0.5]], tf.float32)
    return {'ids': ids, 'x': x}


def sparse_labels() -> tf.Tensor:
    return tf.constant([[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]])


def sparse_input_fn() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors((sparse_features(), sparse_labels())).repeat()


def sparse_predict_input_fn() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors(sparse_features())


def _sparse_placeholders() -> dict[str, Any]:
    return {
        'ids': tf.compat.v1.sparse_placeholder(tf.int64, [None, None], name='ids'),
        'x': tf.compat.v1.placeholder(tf.float32, [None, 1], name='x'),
    }


def sparse_receiver_fns(export: Any = export_lib) -> dict[str, Callable[[], Any]]:
    def supervised() -> Any:
        features = _sparse_placeholders()
        label = tf.compat.v1.placeholder(tf.float32, [None, 1], name='label')
        return export.SupervisedInputReceiver(features, label, {**features, 'label': label})

    def serving() -> Any:
        features = _sparse_placeholders()
        return export.ServingInputReceiver(features, features)

    return {ModeKeys.TRAIN: supervised, ModeKeys.EVAL: supervised, ModeKeys.PREDICT: serving}


def sparse_model_fn(features, labels, mode):
    embeddings = tf.compat.v1.get_variable('embeddings', [SPARSE_VOCAB, 2])
    pooled = tf.nn.safe_embedding_lookup_sparse(embeddings, features['ids'], combiner='mean')
    hidden = tf.concat([pooled, features['x']], axis=1)
    weights = tf.compat.v1.get_variable('weights', [3, 1])
    bias = tf.compat.v1.get_variable('bias', [1], initializer=tf.compat.v1.zeros_initializer())
    logits = tf.matmul(hidden, weights) + bias
    predictions = {'logits': logits, 'probabilities': tf.sigmoid(logits)}
    if mode == ModeKeys.PREDICT:
        outputs = {'serving_default': export_lib.PredictOutput(predictions)}
        return tf.estimator.EstimatorSpec(mode, predictions=predictions, export_outputs=outputs)
    loss = tf.compat.v1.losses.sigmoid_cross_entropy(labels, logits)
    metrics = {'accuracy': tf.compat.v1.metrics.accuracy(labels, tf.round(tf.sigmoid(logits)))}
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.5)
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.estimator.EstimatorSpec(
        mode, loss=loss, train_op=train_op, eval_metric_ops=metrics, predictions=predictions
    )


def sparse_estimator(model_dir: str) -> tf.estimator.Estimator:
    config = tf.estimator.RunConfig(model_dir=model_dir, tf_random_seed=SEED)
    return tf.estimator.Estimator(sparse_model_fn, config=config)


# -- export and replay ------------------------------------------------------------------------

# name -> (estimator factory, train input_fn, receiver fns factory)
MODELS: dict[str, tuple[Callable[..., Any], Callable[[], Any], Callable[..., Any]]] = {
    'docs_example': (docs_estimator, docs_input_fn, docs_receiver_fns),
    'dnn_regressor': (regressor_estimator, regressor_input_fn, regressor_receiver_fns),
    'sparse_input': (sparse_estimator, sparse_input_fn, sparse_receiver_fns),
}


def export_model(name: str, out_dir: str) -> str:
    """Trains model `name` for TRAIN_STEPS and exports all modes to OUT_DIR/<name>/saved_model."""
    make_estimator, input_fn, receiver_fns = MODELS[name]
    target = os.path.join(out_dir, name, 'saved_model')
    with tempfile.TemporaryDirectory() as work:
        estimator = make_estimator(os.path.join(work, 'model_dir'))
        estimator.train(input_fn=input_fn, steps=TRAIN_STEPS)
        export_dir = estimator.experimental_export_all_saved_models(
            os.path.join(work, 'export'), receiver_fns()
        )
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.move(os.fsdecode(export_dir), target)
    return target


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a numpy value (bytes decoded)."""
    value = np.asarray(value)
    if value.dtype.kind in 'SO':
        return np.char.decode(value.astype(bytes), 'utf-8').tolist()
    return value.tolist()


def replay_docs_example(saved_model_dir: str, model_dir: str) -> dict[str, Any]:
    """The docstring's step 3 with the real SavedModelEstimator, as a JSON-ready dict."""
    est = SavedModelEstimator(saved_model_dir, model_dir)
    record: dict[str, Any] = {'available_modes': list(est._available_modes)}
    record['evaluate_before_train'] = {
        k: _plain(v) for k, v in est.evaluate(input_fn=docs_input_fn, steps=1).items()
    }
    est.train(input_fn=docs_input_fn, steps=20)
    record['global_step_after_train'] = int(est.get_variable_value('global_step'))
    record['evaluate_after_train'] = {
        k: _plain(v) for k, v in est.evaluate(input_fn=docs_input_fn, steps=1).items()
    }
    predictions = est.predict(docs_predict_input_fn)
    record['first_prediction'] = {k: _plain(v) for k, v in next(predictions).items()}
    predictions.close()
    record['variables_after_train'] = {
        name: _plain(est.get_variable_value(name)) for name in est.get_variable_names()
    }
    return record


def write_expected(out_dir: str) -> str:
    saved_model_dir = os.path.join(out_dir, 'docs_example', 'saved_model')
    with tempfile.TemporaryDirectory() as model_dir:
        record = replay_docs_example(saved_model_dir, model_dir)
    record['versions'] = {'tensorflow': tf.__version__, 'numpy': np.__version__}
    path = os.path.join(out_dir, 'docs_example', 'expected.json')
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--only', action='append', choices=sorted(MODELS), help='repeatable')
    parser.add_argument(
        '--expected', action='store_true', help='also write docs_example/expected.json'
    )
    parser.add_argument(
        '--golden',
        action='append',
        choices=sorted(GOLDEN_NAMES),
        help='write this golden of tests/data/estimator_exports/ into OUT_DIR instead; repeatable',
    )
    args = parser.parse_args(argv)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    if args.golden:
        from export_golden import write_golden  # tools/ is on sys.path: this script's folder

        for name in args.golden:
            print(write_golden(name, args.out_dir))
        return 0
    names = args.only or sorted(MODELS)
    if args.expected and 'docs_example' not in names:
        parser.error('--expected needs the docs_example model')
    for name in names:
        print(export_model(name, args.out_dir))
    if args.expected:
        print(write_expected(args.out_dir))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
