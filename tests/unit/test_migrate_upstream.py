"""The 12 models of tensorflow_estimator's own SavedModelEstimator tests, migrated.

Eleven migrate; a probe process (TensorFlow only) replays each scenario's calls on the migrated
model and must get what the real SavedModelEstimator returned (expected.json). `local_init_op`
is refused: both its train and eval MetaGraphs add -3 to a saved variable at every load, which
one shared set of variables cannot reproduce.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from savedmodel_estimator.migration import MigrationError, migrate
from tests.conformance import fixture_data
from tests.unit.test_migrate_probe import run_probe

pytestmark = [pytest.mark.core, pytest.mark.slow]

REFUSED = 'local_init_op'
SCENARIOS = [s for s in fixture_data.scenario_names() if s != REFUSED]

# Each scenario's calls, as tools/make_upstream_scenarios.py made them on the original: the
# dummy input_fn gives features {'x': [[1], [-2]]} and labels [[4], [-3]] (int32).
PROBE = r"""
import json
import numpy as np
import tensorflow as tf

X, Y = {'x': tf.constant([[1], [-2]])}, tf.constant([[4], [-3]])
SERVE_X = tf.constant([[5], [6]])


def plain(value):
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()


def evaluate(m, steps):
    m.reset_metrics()
    for _ in range(steps):
        m.update_metrics(X, Y)
    return {key: plain(value) for key, value in m.metrics().items()}


def train(m, steps):
    for _ in range(steps):
        m.train_step(X, Y)


def var(m, name):
    (found,) = [v for v in m.variables if v.name == name + ':0']
    return plain(found)


def first(outputs):
    return {key: plain(value)[0] for key, value in outputs.items()}


def load_all_modes(m):
    train(m, 1)
    train(m, 2)
    return {'global_step': var(m, 'global_step'), 'some_var': var(m, 'some_var'),
            'evaluate': evaluate(m, 5), 'predict_first': first(m.serve(SERVE_X))}


def eval_only(m):
    return {'evaluate': evaluate(m, 5), 'has_train_step': hasattr(m, 'train_step'),
            'has_serve': hasattr(m, 'serve')}


def no_eval(m):
    train(m, 1)
    return {'global_step': var(m, 'global_step'), 'predict_first': first(m.serve(SERVE_X)),
            'has_update_metrics': hasattr(m, 'update_metrics')}


def trackable_table(m):
    before = evaluate(m, 1)
    train(m, 3)
    return {'evaluate_before': before, 'evaluate_after': evaluate(m, 1),
            'some_var': var(m, 'some_var'), 'predict_first': first(m.serve(SERVE_X))}


def serving_only_classification(m):
    outputs = m.signatures['serving_default'](inputs=tf.constant('someinputstr'))
    return {'predict_first': {'scores': plain(outputs['scores'])[0]},
            'test': plain(m.signatures['test'](inputs=tf.constant('x'))['scores'])}


def assets(m):
    loaded = var(m, 'some_var')
    train(m, 1)
    return {'some_var_after_load': loaded, 'global_step': var(m, 'global_step')}


def working_input_fn(m):
    return {'evaluate': evaluate(m, 1), 'predict_first': first(m.serve(SERVE_X))}


def control_dependency(m):
    return {'evaluate': evaluate(m, 1)}


def saveable_resources(m):
    lookup = lambda x: plain(m.serve(tf.constant(x))['output'])[0]
    before, one = lookup([[5]]), lookup([[1]])
    m.train_step({'x': tf.constant([[5]])}, tf.constant([[6]]))
    return {'predict_5_before': before, 'predict_1': one, 'predict_5_after': lookup([[5]])}


def bad_input(m):
    errors = {}
    for name, features, labels in (
        ('bad_shape', {'x': tf.constant([1, 2], tf.int64)}, tf.constant([1, 2], tf.float32)),
        ('bad_dtype', {'x': tf.constant([[1], [1]])}, tf.constant([[1], [1]], tf.int64)),
    ):
        try:
            m.train_step(features, labels)
        except (TypeError, ValueError) as err:
            errors[name] = type(err).__name__
    return {'errors': errors, 'global_step': var(m, 'global_step')}


def reexport(m):
    before = evaluate(m, 1)
    train(m, 3)
    return {'evaluate_before': before, 'evaluate_after_train': evaluate(m, 1),
            'predict_first': first(m.serve(SERVE_X))}


results = {}
for scenario, path in json.load(open(sys.argv[1])).items():
    results[scenario] = globals()[scenario](tf.saved_model.load(path))
json.dump(results, open(sys.argv[2], 'w'))
"""


@pytest.fixture(scope='module')
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    out = tmp_path_factory.mktemp('migrated')
    for scenario in SCENARIOS:
        migrate(fixture_data.UPSTREAM_DIR / scenario / 'saved_model', out / scenario)
    return {scenario: out / scenario for scenario in SCENARIOS}


@pytest.fixture(scope='module')
def replayed(migrated, tmp_path_factory) -> dict[str, dict[str, Any]]:
    work = tmp_path_factory.mktemp('probe')
    (work / 'plan.json').write_text(json.dumps({k: str(v) for k, v in migrated.items()}))
    run_probe(PROBE, work / 'plan.json', work / 'results.json')
    return json.loads((work / 'results.json').read_text())


def _metrics(recorded: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in recorded.items()}


def test_load_all_modes(replayed):
    expected, ours = fixture_data.load_expected('load_all_modes'), replayed['load_all_modes']
    assert ours['global_step'] == expected['global_step'] == 13
    assert ours['some_var'] == expected['some_var'] == 60
    assert _metrics(ours['evaluate']) == _metrics(expected['evaluate'])
    assert ours['predict_first'] == expected['predict_first'] == {'output': 503}


def test_eval_only_has_metrics_and_nothing_else(replayed):
    ours = replayed['eval_only']
    assert _metrics(ours['evaluate']) == _metrics(
        fixture_data.load_expected('eval_only')['evaluate']
    )
    assert not ours['has_train_step'] and not ours['has_serve']


def test_no_eval_trains_and_serves(replayed):
    expected, ours = fixture_data.load_expected('no_eval'), replayed['no_eval']
    assert ours['global_step'] == expected['global_step'] == 11
    assert ours['predict_first'] == expected['predict_first']
    assert not ours['has_update_metrics']


def test_trackable_table_is_restored_and_shared(replayed):
    expected, ours = fixture_data.load_expected('trackable_table'), replayed['trackable_table']
    assert _metrics(ours['evaluate_before']) == _metrics(expected['evaluate_before'])
    assert _metrics(ours['evaluate_after']) == _metrics(expected['evaluate_after'])
    assert ours['some_var'] == expected['some_var'] == 60
    assert ours['predict_first']['output'] == pytest.approx(expected['predict_first']['output'])


def test_serving_only_classification(replayed):
    ours = replayed['serving_only_classification']
    assert (
        ours['predict_first']
        == fixture_data.load_expected('serving_only_classification')['predict_first']
    )
    assert ours['test'] == [[32.0]]


def test_assets_travel_and_their_init_op_runs_at_every_load(replayed, migrated):
    """The init op sets some_var to a hash of the asset's path: of the migrated model's own
    asset, as the original did of its export's (expected.json's `rule`)."""
    ours = replayed['assets']
    asset = migrated['assets'] / 'assets' / 'test_asset'
    assert asset.read_text() == 'test'
    assert ours['some_var_after_load'] == fixture_data.hash_bucket(str(asset), 1000)
    assert ours['global_step'] == 11


def test_working_input_fn_and_control_dependency(replayed):
    for scenario in ('working_input_fn', 'control_dependency'):
        expected, ours = fixture_data.load_expected(scenario), replayed[scenario]
        assert _metrics(ours['evaluate']) == _metrics(expected['evaluate']), scenario
    assert replayed['working_input_fn']['predict_first'] == {'features_0': 5, 'features_1': 6}


def test_saveable_resources_keep_their_checkpointed_contents(replayed):
    expected, ours = (
        fixture_data.load_expected('saveable_resources'),
        replayed['saveable_resources'],
    )
    for key in ('predict_5_before', 'predict_1', 'predict_5_after'):
        assert ours[key] == expected[key], key


def test_bad_inputs_are_refused_by_the_train_step_signature(replayed):
    ours = replayed['bad_input']
    assert set(ours['errors']) == {'bad_shape', 'bad_dtype'}
    assert ours['global_step'] == 10  # nothing ran


def test_reexport(replayed):
    expected, ours = fixture_data.load_expected('reexport'), replayed['reexport']
    assert _metrics(ours['evaluate_before']) == _metrics(expected['evaluate_before'])
    assert _metrics(ours['evaluate_after_train']) == _metrics(expected['evaluate_after_train'])
    assert ours['predict_first'] == expected['serving_reexport_predict_first']


def test_local_init_op_is_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / 'out'
    with pytest.raises(
        MigrationError,
        match=r"the init ops of the 'train' and 'eval' MetaGraphs each change 'some_var' at "
        r'every load',
    ):
        migrate(fixture_data.UPSTREAM_DIR / REFUSED / 'saved_model', out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
