"""Goldens of tests/data/estimator_exports/, made with the REAL tf.estimator.

Runs only in .venv-reference (tensorflow==2.15.1, tensorflow-estimator==2.15.0), through
`tools/export_reference_models.py --golden NAME tests/data/estimator_exports`: the SavedModel, its
data files, and `reference.json` recorded from the real SavedModelEstimator the way the other
goldens were recorded (see GOLDENS and tests/data/FIXTURES.md).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
import tensorflow as tf
from checkpoint_slices import slot_values_from_slices  # tools/: this script's folder
from export_reference_models import (
    GOLDEN_NAMES,
    TRAIN_STEPS,
    ModeKeys,
    SavedModelEstimator,
    _plain,
    export_lib,
)

# -- goldens of tests/data/estimator_exports/ ------------------------------------------------
#
# Each golden is an export made here plus what the real SavedModelEstimator returned on it, in the
# layout of the goldens in /work/shared/fixtures (FIXTURES.md): saved_model/, data/ and
# reference.json, which tests/conformance/test_estimator_exports.py replays with ours.

GOLDEN_TRAIN_STEPS = 20  # the replay's train(steps=...), as for every golden
GOLDEN_PREDICT_ROWS = 10
LABEL_KEY = 'label'
COLORS = ('red', 'orange', 'yellow', 'green', 'blue', 'indigo', 'violet', 'black', 'white', 'gray')
PARTITIONS = 3
_DATA_NOTES = (
    'Rows are in file order (no shuffling). Each tf.Example holds every feature plus the label '
    'under the label name. CSV has a header; a feature with row_shape [k] is spread over '
    'csv_columns name_0..name_{k-1}; floats are float32 values printed with the shortest '
    'round-tripping text.'
)


def partitioned_columns() -> list[Any]:
    fc = tf.feature_column
    return [
        fc.embedding_column(fc.categorical_column_with_vocabulary_list('color', COLORS), 3),
        fc.numeric_column('x1'),
        fc.numeric_column('x2'),
    ]


def partitioned_rows(n_rows: int, rng: np.random.RandomState) -> tuple[dict[str, Any], Any]:
    """Rows of color, x1, x2 (4 decimals) and a 0/1 label drawn from a logistic of them."""
    color = rng.randint(len(COLORS), size=n_rows)
    x = np.round(rng.normal(size=(n_rows, 2)), 4).astype(np.float32)
    logit = 1.5 * x[:, 0] - x[:, 1] + np.where(color < 5, 1.0, -1.0)
    label = (rng.uniform(size=n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    features = {
        'color': np.array([COLORS[i].encode() for i in color], dtype=object),
        'x1': x[:, 0],
        'x2': x[:, 1],
    }
    return features, label


def partitioned_estimator(model_dir: str) -> Any:
    config = tf.estimator.RunConfig(model_dir=model_dir, tf_random_seed=47)
    return tf.compat.v1.estimator.DNNClassifier(
        hidden_units=[4],
        feature_columns=partitioned_columns(),
        optimizer='Adam',
        input_layer_partitioner=tf.compat.v1.fixed_size_partitioner(PARTITIONS),
        config=config,
    )


# name -> description, estimator factory, feature columns, row maker, numpy seed, rows, steps
GOLDENS: dict[str, dict[str, Any]] = {
    'dnn_classifier_partitioned': {
        'description': (
            'tf.compat.v1.estimator.DNNClassifier (V1), hidden_units [4], '
            f"optimizer='Adam', input_layer_partitioner=fixed_size_partitioner({PARTITIONS}): "
            'embedding (dim 3) of color, a vocab list of 10, and numeric x1, x2. The embedding '
            'table [10, 3] is saved as 3 slices (rows 0-3, 4-6, 7-9), the hidden and logits '
            'layers as 1 slice each (the V1 DNN partitions them by parameter servers: none). '
            'The V1 optimizer saves the Adam slots of each part under a name of their own, '
            '.../embedding_weights/t_<i>/Adam(_1), each holding only its slice of [10, 3]: the '
            'original get_variable_value() raises for these 6 names.'
        ),
        'estimator': partitioned_estimator,
        'columns': partitioned_columns,
        'rows': partitioned_rows,
        'numpy_data_seed': 1006,
        'n_train': 300,
        'n_eval': 150,
        'original_training': {'kind': 'full_batch', 'steps': TRAIN_STEPS},
    },
}
assert set(GOLDENS) == set(GOLDEN_NAMES), 'export_reference_models.GOLDEN_NAMES lists the goldens'


def _golden_receivers(features: dict[str, Any], columns: list[Any]) -> dict[str, Any]:
    with tf.Graph().as_default():
        placeholders = {
            name: tf.compat.v1.placeholder(tf.string if v.dtype == object else tf.float32, [None])
            for name, v in features.items()
        }
        label = tf.compat.v1.placeholder(tf.float32, [None])
    supervised = export_lib.build_raw_supervised_input_receiver_fn(placeholders, label)
    serving = export_lib.build_parsing_serving_input_receiver_fn(
        tf.feature_column.make_parse_example_spec(columns)
    )
    return {ModeKeys.TRAIN: supervised, ModeKeys.EVAL: supervised, ModeKeys.PREDICT: serving}


def _float_text(value: Any) -> str:
    return np.format_float_positional(np.float32(value), trim='-')


def _write_data(folder: str, split: str, features: dict[str, Any], labels: Any) -> list[bytes]:
    """Writes data/<split>.tfrecord and .csv; returns the serialized records."""
    names = [*features, LABEL_KEY]
    columns = [*features.values(), labels]
    records, lines = [], [','.join(names)]
    for row in zip(*columns, strict=True):
        example = tf.train.Example()
        for name, value in zip(names, row, strict=True):
            feature = example.features.feature[name]
            if isinstance(value, bytes):
                feature.bytes_list.value.append(value)
            else:
                feature.float_list.value.append(float(value))
        records.append(example.SerializeToString())
        lines.append(','.join(v.decode() if isinstance(v, bytes) else _float_text(v) for v in row))
    os.makedirs(folder, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(folder, f'{split}.tfrecord')) as writer:
        for record in records:
            writer.write(record)
    with open(os.path.join(folder, f'{split}.csv'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return records


def _column_record(name: str, value: Any) -> dict[str, Any]:
    text = value.dtype == object
    return {
        'name': name,
        'dtype': 'string' if text else 'float32',
        'row_shape': [],
        'csv_columns': [name],
        'tf_example_kind': 'bytes_list' if text else 'float_list',
    }


def _tensor_record(info: Any) -> dict[str, Any]:
    shape = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
    return {'name': info.name, 'dtype': tf.as_dtype(info.dtype).name, 'shape': shape}


def _signatures(saved_model_dir: str) -> list[dict[str, Any]]:
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, 'saved_model.pb'), 'rb') as f:
        saved_model.ParseFromString(f.read())
    return [
        {
            'tags': list(mg.meta_info_def.tags),
            'signature_defs': {
                key: {
                    'method_name': sig.method_name,
                    'inputs': {k: _tensor_record(sig.inputs[k]) for k in sorted(sig.inputs)},
                    'outputs': {k: _tensor_record(sig.outputs[k]) for k in sorted(sig.outputs)},
                }
                for key, sig in sorted(mg.signature_def.items())
            },
            'collections': sorted(mg.collection_def),
        }
        for mg in saved_model.meta_graphs
    ]


def _error(err: Exception, model_dir: str = '') -> dict[str, str]:
    """An error as reference.json records it (a model_dir in its message as `<model_dir>`)."""
    message = str(err).replace(model_dir, '<model_dir>') if model_dir else str(err)
    return {'type': type(err).__name__, 'module': type(err).__module__, 'message': message}


def _raised(call: Callable[[], Any], model_dir: str) -> dict[str, str]:
    try:
        call()
    except Exception as err:  # recorded, whatever it is
        return _error(err, model_dir)
    raise AssertionError(f'{call} did not raise')


def _variables_after_train(est: Any) -> dict[str, Any]:
    """Every variable's value; for names the original cannot read, its error and the slices."""
    checkpoint = est.latest_checkpoint()
    shapes = dict(tf.train.list_variables(checkpoint))
    dtypes = tf.train.load_checkpoint(checkpoint).get_variable_to_dtype_map()
    record, unreadable = {}, {}
    for name in est.get_variable_names():
        try:
            value = np.asarray(est.get_variable_value(name))
        except ValueError as err:
            unreadable[name] = _error(err)
            continue
        record[name] = {
            'dtype': str(value.dtype),
            'shape': list(value.shape),
            'value': _plain(value),
        }
    for name, value in slot_values_from_slices(checkpoint, set(unreadable)).items():
        record[name] = {
            'dtype': dtypes[name].name,
            'shape': shapes[name],
            'original_raises': unreadable[name],
            'value': _plain(value),
            'value_from': 'the slot slices of the whole variable, read one by one from the '
            "original's checkpoint (RestoreV2 with each part's slice spec) and put at their "
            'offsets',
        }
    return dict(sorted(record.items()))


def replay_golden(saved_model_dir: str, model_dir: str, data: dict[str, Any]) -> dict[str, Any]:
    """The calls every golden records, made with the real SavedModelEstimator on a fresh dir."""
    (train_x, train_y), (eval_x, eval_y) = data['train'], data['eval']
    n_train, n_eval, key = len(train_y), len(eval_y), data['serving_input_key']

    def evaluate() -> dict[str, Any]:
        input_fn = lambda: tf.data.Dataset.from_tensors((eval_x, eval_y))  # noqa: E731
        return {k: _plain(v) for k, v in est.evaluate(input_fn, steps=1).items()}

    def predict() -> dict[str, Any]:
        records = np.array(data['eval_records'][:GOLDEN_PREDICT_ROWS], dtype=object)
        rows = list(est.predict(lambda: tf.data.Dataset.from_tensors({key: records})))
        outputs = {k: _plain(np.stack([row[k] for row in rows])) for k in sorted(rows[0])}
        return {'n_rows': len(rows), 'outputs': outputs}

    est = SavedModelEstimator(saved_model_dir, model_dir)
    variables = os.path.join(saved_model_dir, 'variables', 'variables')
    record: dict[str, Any] = {
        'available_modes': list(est._available_modes),
        'latest_checkpoint_before_train': os.path.relpath(est.latest_checkpoint(), saved_model_dir),
        'variables_in_export': dict(tf.train.list_variables(variables)),
        'evaluate_input': f'all {n_eval} eval rows as one batch, steps=1',
        'predict_input': (
            f'first {GOLDEN_PREDICT_ROWS} records of data/eval.tfrecord (serialized as stored, '
            f'label feature included) as one batch under serving input key "{key}"'
        ),
        'train_input': (
            f'all {n_train} train rows as one batch, repeated (same batch each step), '
            f'steps={GOLDEN_TRAIN_STEPS}'
        ),
    }
    record['evaluate_before_train'] = evaluate()
    record['predictions_before_train'] = predict()
    record['get_variable_names_before_train'] = _raised(est.get_variable_names, model_dir)
    record['global_step_before_train'] = int(tf.train.load_variable(variables, 'global_step'))
    train_fn = lambda: tf.data.Dataset.from_tensors((train_x, train_y)).repeat()  # noqa: E731
    est.train(train_fn, steps=GOLDEN_TRAIN_STEPS)
    record['global_step_after_train'] = int(est.get_variable_value('global_step'))
    record['latest_checkpoint_after_train'] = os.path.relpath(est.latest_checkpoint(), model_dir)
    record['variable_names_after_train'] = est.get_variable_names()
    record['variables_after_train'] = _variables_after_train(est)
    record['evaluate_after_train'] = evaluate()
    record['predictions_after_train'] = predict()
    return record


def write_golden(name: str, out_dir: str) -> str:
    """Makes golden `name` in OUT_DIR/<name>/: data/, saved_model/ and reference.json."""
    import platform

    spec = GOLDENS[name]
    target = os.path.join(out_dir, name)
    if os.path.exists(target):
        shutil.rmtree(target)
    rng = np.random.RandomState(spec['numpy_data_seed'])
    train_x, train_y = spec['rows'](spec['n_train'], rng)
    eval_x, eval_y = spec['rows'](spec['n_eval'], rng)
    data_dir = os.path.join(target, 'data')
    _write_data(data_dir, 'train', train_x, train_y)
    eval_records = _write_data(data_dir, 'eval', eval_x, eval_y)
    with tempfile.TemporaryDirectory() as work:
        est = spec['estimator'](os.path.join(work, 'model_dir'))
        steps = spec['original_training']['steps']
        est.train(lambda: tf.data.Dataset.from_tensors((train_x, train_y)).repeat(), steps=steps)
        original_evaluate = est.evaluate(
            lambda: tf.data.Dataset.from_tensors((eval_x, eval_y)), steps=1
        )
        receivers = _golden_receivers(train_x, spec['columns']())
        export_dir = est.experimental_export_all_saved_models(
            os.path.join(work, 'export'), receivers
        )
        saved_model_dir = os.path.join(target, 'saved_model')
        shutil.move(os.fsdecode(export_dir), saved_model_dir)
        signatures = _signatures(saved_model_dir)
        serving = next(s for s in signatures if s['tags'] == ['serve'])
        key = next(iter(serving['signature_defs']['serving_default']['inputs']))
        data = {
            'train': (train_x, train_y),
            'eval': (eval_x, eval_y),
            'eval_records': eval_records,
            'serving_input_key': key,
        }
        model_dir = os.path.join(work, 'replay')
        os.mkdir(model_dir)  # an existing, empty model_dir, as for every golden
        replay = replay_golden(saved_model_dir, model_dir, data)
    size = sum(
        os.path.getsize(os.path.join(root, f))
        for root, _, files in os.walk(saved_model_dir)
        for f in files
    )
    label = {**_column_record(LABEL_KEY, train_y), 'vocabulary': None}
    reference = {
        'model_name': name,
        'description': spec['description'],
        'versions': {
            'tensorflow': tf.__version__,
            'tensorflow_estimator': None,
            'tensorflow_estimator_dist': _distribution_version('tensorflow-estimator'),
            'numpy': np.__version__,
            'python': platform.python_version(),
        },
        'environment': {
            k: os.environ.get(k)
            for k in ('TF_ENABLE_ONEDNN_OPTS', 'TF_DETERMINISTIC_OPS', 'CUDA_VISIBLE_DEVICES')
        },
        'saved_model_estimator_import': (
            'tensorflow_estimator.python.estimator.canned.saved_model_estimator.'
            'SavedModelEstimator (not exported as tf.estimator.experimental.SavedModelEstimator '
            'in tensorflow-estimator 2.15)'
        ),
        'data': {
            'features': [_column_record(n, v) for n, v in train_x.items()],
            'label': label,
            'n_train': spec['n_train'],
            'n_eval': spec['n_eval'],
            'numpy_data_seed': spec['numpy_data_seed'],
            'files': {
                f'{split}_{kind}': f'data/{split}.{kind}'
                for split in ('train', 'eval')
                for kind in ('tfrecord', 'csv')
            },
            'notes': _DATA_NOTES,
        },
        'tf_random_seed': est.config.tf_random_seed,
        'original_training': spec['original_training'],
        'legacy_failure': None,
        'estimator_class': type(est).__name__,
        'original_estimator_evaluate': {k: _plain(v) for k, v in original_evaluate.items()},
        'export_method': 'experimental_export_all_saved_models',
        'export': {'signatures': signatures, 'serving_input_key': key, 'size_bytes': size},
        'saved_model_estimator': replay,
    }
    path = os.path.join(target, 'reference.json')
    with open(path, 'w') as f:
        json.dump(reference, f, indent=1)
        f.write('\n')
    return path


def _distribution_version(name: str) -> str:
    from importlib import metadata

    return metadata.version(name)
