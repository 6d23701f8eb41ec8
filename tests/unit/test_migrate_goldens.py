"""Every golden export migrated, then loaded by TensorFlow alone: it serves, trains and evaluates
as the Estimator export did.

Each model of tests/data/estimator_exports/ is migrated once; one probe process (TensorFlow only,
see test_migrate_probe.py) loads every migrated model and records its serving outputs, eval
metrics, 20 `train_step`s on the train rows as one batch, the variables after them, and the
outputs and metrics after training. They are compared with the original export run in a
tf.compat.v1 session (every serving signature) and with what the real SavedModelEstimator
returned (reference.json: predict, evaluate, and the variables after `train(steps=20)` on the
same batch).
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import variable_pb2

from savedmodel_estimator.migration import migrate
from savedmodel_estimator.saved_model_reader import SavedModelReader
from tests.conformance import fixture_data
from tests.support.paths import REPO
from tests.unit.test_migrate_probe import run_probe

pytestmark = [pytest.mark.core, pytest.mark.slow]

MODELS = fixture_data.model_names()
N_PREDICT, TRAIN_STEPS = 10, 20
# The same signature on the same weights: float32 results agree to the last bit or two.
SERVE_RTOL = 1e-6
# After 20 steps, as tests/conformance/test_estimator_exports.py: a different kernel order may
# change the last digits; values near 0 have no relative precision (ATOL).
TRAIN_RTOL, TRAIN_ATOL = 1e-5, 1e-6

PROBE = r"""
import json
import numpy as np
import tensorflow as tf

plan = json.load(open(sys.argv[1]))
results = {}


def put(model, section, values):
    for key, value in values.items():
        value = np.asarray(value)
        if value.dtype.kind in 'SO':
            value = np.char.decode(value.astype(bytes), 'utf-8')
        results[f'{model}|{section}|{key}'] = value


def read(job, split):
    serialized = tf.constant([r.numpy() for r in tf.data.TFRecordDataset(job[split])])
    spec = {name: tf.io.FixedLenFeature(shape, dtype) for name, dtype, shape in job['columns']}
    features = tf.io.parse_example(serialized, spec)
    labels = features.pop('label')
    return serialized, features, labels


def serve(model, m, section, serialized):
    for key, function in m.signatures.items():
        (name,) = function.structured_input_signature[1]
        put(model, f'{section}:{key}', function(**{name: serialized}))


def evaluate(model, m, section, features, labels):
    m.reset_metrics()
    m.update_metrics(features, labels)
    put(model, section, m.metrics())


for model, job in plan.items():
    m = tf.saved_model.load(job['migrated'])
    serialized, eval_features, eval_labels = read(job, 'eval')
    serve(model, m, 'serve', serialized[: job['n_predict']])
    put(model, 'endpoint', m.serve(serialized[: job['n_predict']]))
    if hasattr(m, 'update_metrics'):
        evaluate(model, m, 'metrics', eval_features, eval_labels)
    if hasattr(m, 'train_step'):
        _, features, labels = read(job, 'train')
        losses = [m.train_step(features, labels) for _ in range(job['steps'])]
        put(model, 'losses', {'loss': losses})
        put(model, 'variables', {v.name.split(':')[0]: v for v in m.variables})
        serve(model, m, 'serve_after', serialized[: job['n_predict']])
        if hasattr(m, 'update_metrics'):
            evaluate(model, m, 'metrics_after', eval_features, eval_labels)
    put(model, 'kinds', {
        'variables': [v.name for v in m.variables],
        'trainable': [v.name for v in m.trainable_variables],
        'is_list': [isinstance(m.variables, list)],
    })
np.savez(sys.argv[2], **results)
"""


@pytest.fixture(scope='module')
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    out = tmp_path_factory.mktemp('migrated')
    for model in MODELS:
        migrate(fixture_data.EXPORTS / model / 'saved_model', out / model)
    return {model: out / model for model in MODELS}


# The core's environments on the other TensorFlow: TF 2.21 (.venv-tf-latest) from TF 2.15/2.16,
# TF 2.16 (.venv-legacy) from TF 2.21.
OTHER_TENSORFLOW = REPO / ('.venv-legacy' if tf.__version__ >= '2.21' else '.venv-tf-latest')


def probe_models(
    migrated: dict[str, pathlib.Path], models: list[str], work: pathlib.Path, python: str
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """model -> section -> key -> value, from one probe (interpreter `python`) over `models`."""
    plan = {}
    for model in models:
        reference = fixture_data.load_reference(model)
        data = reference['data']
        columns = [
            (c['name'], c['dtype'], c['row_shape']) for c in [*data['features'], data['label']]
        ]
        files = fixture_data.EXPORTS / model
        plan[model] = {
            'migrated': str(migrated[model]),
            'train': str(files / data['files']['train_tfrecord']),
            'eval': str(files / data['files']['eval_tfrecord']),
            'columns': columns,
            'n_predict': N_PREDICT,
            'steps': TRAIN_STEPS,
        }
    (work / 'plan.json').write_text(json.dumps(plan))
    run_probe(PROBE, work / 'plan.json', work / 'results.npz', python=python)
    results: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    with np.load(work / 'results.npz') as npz:
        for name in npz.files:
            model, section, key = name.split('|')
            results.setdefault(model, {}).setdefault(section, {})[key] = npz[name]
    return results


@pytest.fixture(scope='module')
def probed(migrated, tmp_path_factory) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """model -> section -> key -> value, from one probe over every migrated model."""
    return probe_models(migrated, MODELS, tmp_path_factory.mktemp('probe'), sys.executable)


def run_original(model: str, key: str, serialized: np.ndarray) -> dict[str, np.ndarray]:
    """Signature `key` of the export's serve MetaGraph in a tf.compat.v1 session."""
    export_dir = str(fixture_data.EXPORTS / model / 'saved_model')
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ['serve'], export_dir)
        signature = meta_graph.signature_def[key]
        (input_info,) = signature.inputs.values()
        fetches = {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}
        return session.run(fetches, {graph.get_tensor_by_name(input_info.name): serialized})


def assert_close(actual: Any, expected: Any, what: str, rtol: float, atol: float = 0.0) -> float:
    """Compares numbers with tolerances, strings exactly; returns the max absolute difference."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if expected.dtype.kind in 'SOUb':
        text = [
            np.char.decode(v.astype(bytes), 'utf-8') if v.dtype.kind in 'SO' else v
            for v in (actual, expected)
        ]
        np.testing.assert_array_equal(*text, err_msg=what)
        return 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
    return float(np.max(np.abs(actual - expected), initial=0.0))


def _slices(model: str) -> dict[str, list[tuple[str, list[int], list[int]]]]:
    """Checkpoint name -> (graph variable, offset, full shape) of each part of a partitioned
    variable of the export's train MetaGraph."""
    meta_graph = SavedModelReader(fixture_data.EXPORTS / model / 'saved_model').meta_graph('train')
    parts: dict[str, list[tuple[str, list[int], list[int]]]] = {}
    if meta_graph is None:
        return parts
    for data in meta_graph.collection_def['variables'].bytes_list.value:
        variable = variable_pb2.VariableDef.FromString(data)
        if variable.HasField('save_slice_info_def'):
            info = variable.save_slice_info_def
            parts.setdefault(info.full_name, []).append(
                (variable.variable_name.split(':')[0], list(info.var_offset), list(info.full_shape))
            )
    return parts


def variable_value(model: str, name: str, variables: dict[str, np.ndarray]) -> np.ndarray:
    """The value of checkpoint name `name` from the migrated model's variables: the variable of
    that name, or a partitioned variable joined from its parts. A V1 partitioned Adam slot is
    saved as one name per part (`t_<i>/Adam`); reference.json gives the whole slot for each."""
    if name in variables:
        return variables[name]
    slices = _slices(model)
    wanted = re.sub(r'/t_\d+/', '/t_*/', name)
    parts = [
        p
        for full, found in slices.items()
        if re.sub(r'/t_\d+/', '/t_*/', full) == wanted
        for p in found
    ]
    assert parts, f'{name!r}: no variable or partitioned part in the migrated model'
    whole = np.zeros(parts[0][2], variables[parts[0][0]].dtype)
    for variable, offset, _ in parts:
        value = variables[variable]
        index = tuple(slice(o, o + n) for o, n in zip(offset, value.shape, strict=True))
        whole[index] = value
    return whole


@pytest.mark.parametrize('model', MODELS)
def test_every_serving_signature_answers_as_the_export(model, probed):
    examples = fixture_data.read_examples(model, 'eval')
    serialized = examples.serialized[:N_PREDICT]
    signatures = sorted(k.split(':', 1)[1] for k in probed[model] if k.startswith('serve:'))
    assert signatures == sorted(
        SavedModelReader(fixture_data.EXPORTS / model / 'saved_model')
        .meta_graph('infer')
        .signature_def
    )
    for key in signatures:
        expected = run_original(model, key, serialized)
        ours = probed[model][f'serve:{key}']
        assert sorted(ours) == sorted(expected), key
        for output, value in expected.items():
            assert_close(ours[output], value, f'{model} {key} {output}', SERVE_RTOL)
    reference = fixture_data.load_reference(model)['saved_model_estimator']
    before = reference.get('predictions_before_train', reference.get('predictions'))
    for output, value in before['outputs'].items():
        assert_close(
            probed[model]['endpoint'][output], value, f'{model} serve {output}', SERVE_RTOL
        )


@pytest.mark.parametrize('model', [m for m in MODELS if m != 'dnn_classifier_predict_only'])
def test_train_step_continues_training_as_the_estimator(model, probed):
    reference = fixture_data.load_reference(model)['saved_model_estimator']
    variables = probed[model]['variables']
    assert len(probed[model]['losses']['loss']) == TRAIN_STEPS
    for name, recorded in reference['variables_after_train'].items():
        expected = recorded.get('value')
        if expected is None:
            with np.load(fixture_data.EXPORTS / model / 'variables_after_train.npz') as npz:
                expected = npz[recorded['npz_key']]
        actual = variable_value(model, name, variables)
        assert_close(actual, expected, f'{model} {name}', TRAIN_RTOL, TRAIN_ATOL)
    # The serving signatures read the trained variables: the same answers as after train().
    after = reference['predictions_after_train']['outputs']
    (default,) = [k for k in probed[model] if k == 'serve_after:serving_default']
    for output, value in after.items():
        assert_close(
            probed[model][default][output], value, f'{model} {output}', TRAIN_RTOL, TRAIN_ATOL
        )


@pytest.mark.parametrize('model', [m for m in MODELS if m != 'dnn_classifier_predict_only'])
def test_metrics_are_those_of_evaluate(model, probed):
    reference = fixture_data.load_reference(model)['saved_model_estimator']
    for section, recorded, rtol in (
        ('metrics', reference['evaluate_before_train'], SERVE_RTOL),
        ('metrics_after', reference['evaluate_after_train'], TRAIN_RTOL),
    ):
        ours = probed[model][section]
        assert sorted(ours) == sorted(recorded)
        for key, value in recorded.items():
            assert_close(ours[key], value, f'{model} {section} {key}', rtol, TRAIN_ATOL)


@pytest.mark.parametrize('model', MODELS)
def test_variables_are_named_and_trainable_as_in_the_export(model, probed):
    kinds = probed[model]['kinds']
    assert bool(kinds['is_list'][0])
    reader = SavedModelReader(fixture_data.EXPORTS / model / 'saved_model')
    exported, trainable = set(), set()
    for meta_graph in reader.saved_model.meta_graphs:
        for key, names in (('variables', exported), ('trainable_variables', trainable)):
            for data in meta_graph.collection_def[key].bytes_list.value:
                names.add(variable_pb2.VariableDef.FromString(data).variable_name)
    assert set(kinds['variables'].tolist()) == exported
    assert set(kinds['trainable'].tolist()) == trainable


@pytest.mark.parametrize('model', MODELS)
def test_a_tf1_session_loads_it_as_tf_serving_does(model, migrated, probed):
    """TF Serving loads a SavedModel into a session (restore, then the init op) and runs a
    signature by its tensor names; Classify and Regress need the export's method names."""
    export = SavedModelReader(fixture_data.EXPORTS / model / 'saved_model').meta_graph('infer')
    serialized = fixture_data.read_examples(model, 'eval').serialized[:N_PREDICT]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ['serve'], str(migrated[model]))
        signatures = {k: s for k, s in meta_graph.signature_def.items() if not k.startswith('__')}
        assert {k: s.method_name for k, s in signatures.items()} == {
            k: s.method_name for k, s in export.signature_def.items()
        }
        for key, signature in signatures.items():
            ((_, input_info),) = signature.inputs.items()
            fetches = {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}
            feed = {graph.get_tensor_by_name(input_info.name): serialized}
            for output, value in session.run(fetches, feed).items():
                expected = probed[model][f'serve:{key}'][output]
                assert_close(value, expected, f'{model} {key} {output}', SERVE_RTOL)


def test_a_model_migrated_here_loads_and_trains_on_the_other_tensorflow(migrated, probed, tmp_path):
    python = OTHER_TENSORFLOW / 'bin' / 'python'
    if not python.exists():
        pytest.skip(f'{python} not found: build it with `make setup`')
    model = 'dnn_classifier_seed'
    theirs = probe_models(migrated, [model], tmp_path, str(python))[model]
    ours = probed[model]
    assert sorted(theirs) == sorted(ours)
    for section, values in ours.items():
        rtol = SERVE_RTOL if section.startswith(('serve:', 'metrics', 'endpoint')) else TRAIN_RTOL
        for key, value in values.items():
            assert_close(theirs[section][key], value, f'{section} {key}', rtol, TRAIN_ATOL)
