"""EstimatorEvaluator's executor on the golden Estimator exports, and the stock Pusher after it."""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.components.pusher import executor as pusher_executor
from tfx.types import standard_artifacts, standard_component_specs

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.export import (
    build_raw_serving_input_receiver_fn,
    build_raw_supervised_input_receiver_fn,
)
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.estimator_evaluator import executor, spec
from tests.integration.golden_artifacts import (
    EXPORTS,
    core_evaluate,
    fixture_records,
    listing,
    make_examples,
    make_model,
    make_output,
    parse_records,
)

pytestmark = pytest.mark.slow

MODEL = 'dnn_classifier_seed'
REFERENCE = json.loads((EXPORTS / MODEL / 'reference.json').read_text())['saved_model_estimator']
BEFORE = REFERENCE['evaluate_before_train']  # the real tf.estimator's numbers, base model
AFTER = REFERENCE['evaluate_after_train']  # ... and after 20 more full-batch steps
N_EVAL = 300  # one batch of every eval row, as the reference evaluated


@pytest.fixture(scope='module')
def trained_saved_model(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The base model trained as the reference did (20 full-batch steps), re-exported."""
    root = tmp_path_factory.mktemp('trained')
    base = str(EXPORTS / MODEL / 'saved_model')
    records = fixture_records(MODEL, 'train')
    estimator = SavedModelEstimator(base, model_dir=str(root / 'run'))
    estimator.train(
        lambda: tf.data.Dataset.from_tensors(parse_records(MODEL, records)).repeat(), steps=20
    )
    inputs = {
        'feature1': tf.TensorSpec([None], tf.string, name='feature1'),
        'feature2': tf.TensorSpec([None], tf.float32, name='feature2'),
        'label': tf.TensorSpec([None], tf.float32, name='label'),
    }
    serving = {'inputs': tf.TensorSpec([None], tf.string, name='input_example_tensor')}
    receivers = {
        'train': build_raw_supervised_input_receiver_fn(inputs, {}),
        'eval': build_raw_supervised_input_receiver_fn(inputs, {}),
        'infer': build_raw_serving_input_receiver_fn(serving),
    }
    export = estimator.experimental_export_all_saved_models(str(root / 'export'), receivers)
    return pathlib.Path(export.decode())


def run(
    root: pathlib.Path, model: Any, examples: Any, baseline: Any = None, **params: Any
) -> tuple[Any, Any]:
    """Runs the executor; returns the evaluation and blessing artifacts."""
    evaluation = make_output(standard_artifacts.ModelEvaluation, root / 'evaluation')
    blessing = make_output(standard_artifacts.ModelBlessing, root / 'blessing')
    inputs = {spec.MODEL_KEY: [model], spec.EXAMPLES_KEY: [examples]}
    if baseline is not None:
        inputs[spec.BASELINE_MODEL_KEY] = [baseline]
    outputs = {spec.EVALUATION_KEY: [evaluation], spec.BLESSING_KEY: [blessing]}
    params.setdefault('batch_size', N_EVAL)
    for key in ('metric_thresholds', 'eval_splits'):
        if not isinstance(params.get(key, ''), str):
            params[key] = json.dumps(params[key])
    executor.Executor().Do(inputs, outputs, params)
    return evaluation, blessing


def model_artifacts(tmp_path: pathlib.Path, trained: pathlib.Path) -> tuple[Any, Any, Any]:
    base = make_model(tmp_path / 'base', MODEL)
    base.id = 1
    candidate = make_model(tmp_path / 'candidate', MODEL, trained)
    candidate.id = 2
    return base, candidate, make_examples(tmp_path / 'examples', MODEL)


def summary(evaluation: Any) -> dict[str, Any]:
    return json.loads(
        (pathlib.Path(evaluation.uri) / artifacts.EVALUATION_SUMMARY_FILE).read_text()
    )


def blessed_file(blessing: Any) -> list[str]:
    return listing(blessing.uri)


# -- metrics and blessing ---------------------------------------------------------------------


def test_blessed_when_every_bound_holds(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    thresholds = {
        'metrics/accuracy': {'lower_bound': 0.3, 'upper_bound': 1.0},
        'loss': {'upper_bound': 2.0},
    }

    evaluation, blessing = run(tmp_path, candidate, examples, metric_thresholds=thresholds)

    assert blessed_file(blessing) == [artifacts.BLESSED_FILE]
    assert blessing.get_int_custom_property(artifacts.BLESSED_PROPERTY) == 1
    reason = blessing.get_string_custom_property(artifacts.BLESSING_REASON_PROPERTY)
    assert reason == 'BLESSED: all 3 checks passed.'
    assert blessing.get_string_custom_property(artifacts.CURRENT_MODEL_PROPERTY) == candidate.uri
    assert blessing.get_int_custom_property(artifacts.CURRENT_MODEL_ID_PROPERTY) == 2
    assert not blessing.has_custom_property(artifacts.BASELINE_MODEL_PROPERTY)

    # The metrics are the real tf.estimator's, and the core's on an independent input path.
    metrics = summary(evaluation)['metrics']
    assert metrics == pytest.approx(AFTER, rel=1e-6)
    direct = core_evaluate(str(trained_saved_model), MODEL, fixture_records(MODEL, 'eval'))
    assert metrics == pytest.approx(direct, rel=1e-6)
    assert summary(evaluation)['reason'] == reason

    # TFMA's loaders read them.
    (loaded,) = list(tfma.load_metrics(evaluation.uri))
    assert not loaded.slice_key.single_slice_keys  # the overall slice
    values = {kv.key.name: kv.value.double_value.value for kv in loaded.metric_keys_and_values}
    assert values == pytest.approx(AFTER, rel=1e-6)
    assert tfma.load_validation_result(evaluation.uri).validation_ok
    result = tfma.load_eval_result(evaluation.uri)
    ((slice_key, by_output),) = result.slicing_metrics
    assert slice_key == ()
    accuracy = by_output['']['']['metrics/accuracy']['doubleValue']
    assert accuracy == pytest.approx(AFTER['metrics/accuracy'], rel=1e-6)


def test_not_blessed_when_a_bound_fails_and_says_which(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    thresholds = {'metrics/accuracy': {'lower_bound': 0.5}, 'loss': {'upper_bound': 2.0}}

    evaluation, blessing = run(tmp_path, candidate, examples, metric_thresholds=thresholds)

    assert blessed_file(blessing) == [artifacts.NOT_BLESSED_FILE]
    assert blessing.get_int_custom_property(artifacts.BLESSED_PROPERTY) == 0
    reason = blessing.get_string_custom_property(artifacts.BLESSING_REASON_PROPERTY)
    assert reason == (
        'NOT_BLESSED: 1 of 2 checks failed: metrics/accuracy = 0.333333 is below lower_bound 0.5.'
    )
    validation = tfma.load_validation_result(evaluation.uri)
    assert not validation.validation_ok
    (failure,) = validation.metric_validations_per_slice[0].failures
    assert failure.metric_key.name == 'metrics/accuracy'
    assert failure.metric_threshold.value_threshold.lower_bound.value == 0.5
    checks = summary(evaluation)['checks']
    assert [(c['metric'], c['kind'], c['passed']) for c in checks] == [
        ('metrics/accuracy', 'lower_bound', False),
        ('loss', 'upper_bound', True),
    ]


@pytest.mark.parametrize(
    ('candidate_is_trained', 'change', 'blessed', 'reason'),
    [
        # Training lowered the loss 1.5486 -> 1.5109 (diff -0.0377, relative -0.0244).
        (
            True,
            {'direction': 'lower_is_better', 'absolute': 0.0},
            True,
            'BLESSED: all 1 checks passed.',
        ),
        (
            False,
            {'direction': 'lower_is_better', 'absolute': 0.0},
            False,
            r'loss changed by 0\.0377\d* against the baseline \(1\.51089 -> 1\.54861\); '
            r'lower_is_better needs <= 0',
        ),
        (
            True,
            {'direction': 'higher_is_better', 'relative': 0.0},
            False,
            r'loss changed relatively by -0\.0243\d* against the baseline .*higher_is_better needs >= 0',
        ),
        (
            True,
            {'direction': 'lower_is_better', 'relative': -0.02},
            True,
            'BLESSED: all 1 checks passed.',
        ),
    ],
)
def test_change_against_the_baseline(
    tmp_path: pathlib.Path,
    trained_saved_model: pathlib.Path,
    candidate_is_trained: bool,
    change: dict[str, Any],
    blessed: bool,
    reason: str,
) -> None:
    base, trained, examples = model_artifacts(tmp_path, trained_saved_model)
    model, baseline = (trained, base) if candidate_is_trained else (base, trained)

    evaluation, blessing = run(
        tmp_path, model, examples, baseline, metric_thresholds={'loss': {'change': change}}
    )

    assert blessing.get_int_custom_property(artifacts.BLESSED_PROPERTY) == int(blessed)
    assert re.search(
        reason, blessing.get_string_custom_property(artifacts.BLESSING_REASON_PROPERTY)
    )
    assert blessing.get_string_custom_property(artifacts.BASELINE_MODEL_PROPERTY) == baseline.uri
    assert blessing.get_int_custom_property(artifacts.BASELINE_MODEL_ID_PROPERTY) == baseline.id
    results = summary(evaluation)
    expected = (AFTER, BEFORE) if candidate_is_trained else (BEFORE, AFTER)
    assert results['metrics'] == pytest.approx(expected[0], rel=1e-6)
    assert results['baseline_metrics'] == pytest.approx(expected[1], rel=1e-6)
    (loaded,) = list(tfma.load_metrics(evaluation.uri))
    keys = {
        (kv.key.model_name, kv.key.name, kv.key.is_diff) for kv in loaded.metric_keys_and_values
    }
    assert {
        ('candidate', 'loss', False),
        ('baseline', 'loss', False),
        ('candidate', 'loss', True),
    } <= keys
    ((_, by_output),) = tfma.load_eval_result(evaluation.uri).slicing_metrics  # the candidate
    diff = by_output['']['']['loss_diff']['doubleValue']
    assert diff == pytest.approx(expected[0]['loss'] - expected[1]['loss'], rel=1e-5)


def test_without_thresholds_the_model_is_not_blessed_and_why(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    _, blessing = run(tmp_path, candidate, examples)
    assert blessed_file(blessing) == [artifacts.NOT_BLESSED_FILE]
    assert 'no metric_thresholds were given' in blessing.get_string_custom_property(
        artifacts.BLESSING_REASON_PROPERTY
    )


def test_change_thresholds_without_a_baseline_rubber_stamp(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    change = {'direction': 'lower_is_better', 'absolute': 0.0}
    evaluation, blessing = run(
        tmp_path, candidate, examples, metric_thresholds={'loss': {'change': change}}
    )
    assert blessing.get_int_custom_property(artifacts.BLESSED_PROPERTY) == 1
    assert 'rubber stamp' in blessing.get_string_custom_property(artifacts.BLESSING_REASON_PROPERTY)
    assert tfma.load_validation_result(evaluation.uri).rubber_stamp


# -- the stock Pusher honours the blessing ----------------------------------------------------


@pytest.mark.parametrize('bound', [0.3, 0.5], ids=['blessed', 'not_blessed'])
def test_stock_pusher_honours_the_blessing(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path, bound: float
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    _, blessing = run(
        tmp_path,
        candidate,
        examples,
        metric_thresholds={'metrics/accuracy': {'lower_bound': bound}},
    )
    pushed = make_output(standard_artifacts.PushedModel, tmp_path / 'pushed')
    destination = tmp_path / 'serving'
    pusher_executor.Executor().Do(
        {
            standard_component_specs.MODEL_KEY: [candidate],
            standard_component_specs.MODEL_BLESSING_KEY: [blessing],
        },
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {
            standard_component_specs.PUSH_DESTINATION_KEY: json.dumps(
                {'filesystem': {'base_directory': str(destination)}}
            )
        },
    )
    if bound == 0.3:
        assert pushed.get_int_custom_property('pushed') == 1
        (version,) = destination.iterdir()
        assert (version / 'saved_model.pb').exists()
    else:
        assert pushed.get_int_custom_property('pushed') == 0
        assert not destination.exists()


def test_steps_limits_the_batches_evaluated(
    tmp_path: pathlib.Path, trained_saved_model: pathlib.Path
) -> None:
    _, candidate, examples = model_artifacts(tmp_path, trained_saved_model)
    evaluation, _ = run(tmp_path, candidate, examples, batch_size=120, steps=1)
    first = fixture_records(MODEL, 'eval')[:120]
    expected = core_evaluate(str(trained_saved_model), MODEL, first)
    assert summary(evaluation)['metrics'] == pytest.approx(expected, rel=1e-6)


def test_component_declares_its_parameters_and_checks_them_early() -> None:
    from tfx.types import channel_utils

    from savedmodel_estimator_tfx.components.estimator_evaluator.component import EstimatorEvaluator

    model = channel_utils.as_channel([standard_artifacts.Model()])
    examples = channel_utils.as_channel([standard_artifacts.Examples()])
    thresholds = {'loss': {'upper_bound': 2.0}}
    evaluator = EstimatorEvaluator(model=model, examples=examples, metric_thresholds=thresholds)
    assert evaluator.exec_properties == {
        'eval_splits': '["eval"]',
        'metric_thresholds': '{"loss": {"upper_bound": 2.0}}',
        'batch_size': 256,
    }
    assert set(evaluator.outputs) == {'evaluation', 'blessing'}
    with pytest.raises(ValueError, match='metric_thresholds is invalid at loss: Additional'):
        EstimatorEvaluator(
            model=model, examples=examples, metric_thresholds={'loss': {'upper': 2.0}}
        )
