"""BatchPredictor's executor on golden exports, beside stock BulkInferrer and the core's predict.

The expected predictions come from `SavedModelEstimator.predict` (the core imports the serving
graph itself, through an input_fn) and from the stock TFX BulkInferrer executor on the same
Model and Examples artifacts: the PredictionLogs must parse to the same messages.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2
from tfx import types
from tfx.components.bulk_inferrer import executor as stock_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts, standard_component_specs

from savedmodel_estimator.beam import _beam_internal
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError
from savedmodel_estimator_tfx.components.batch_predictor import executor, spec
from savedmodel_estimator_tfx.components.batch_predictor.component import BatchPredictor
from savedmodel_estimator_tfx.components.common import _tfx_internal, artifacts
from tests.integration.golden_artifacts import (
    fixture_records,
    listing,
    make_examples,
    make_model,
    make_output,
)
from tests.support.canonical_logs import assert_same_logs
from tests.support.core_predict import core_predict
from tests.support.tiny_models import example, two_float_inputs

SEED = 'dnn_classifier_seed'
PredictionLog = prediction_log_pb2.PredictionLog


def with_ids(records: list[bytes]) -> list[bytes]:
    """The records with an int64 `id` feature: their index."""
    out = []
    for index, record in enumerate(records):
        proto = tf.train.Example.FromString(record)
        proto.features.feature['id'].int64_list.value.append(index)
        out.append(proto.SerializeToString())
    return out


def run_predictor(
    tmp_path: pathlib.Path,
    records: list[bytes],
    model: str = SEED,
    saved_model: pathlib.Path | None = None,
    blessing: types.Artifact | None = None,
    beam_args: list[str] | None = None,
    **params: Any,
) -> types.Artifact:
    examples = make_examples(tmp_path / 'examples', model, {'eval': records})
    inputs = {
        spec.MODEL_KEY: [make_model(tmp_path / 'model', model, saved_model)],
        spec.EXAMPLES_KEY: [examples],
    }
    if blessing is not None:
        inputs[spec.MODEL_BLESSING_KEY] = [blessing]
    result = make_output(standard_artifacts.InferenceResult, tmp_path / 'result')
    props = {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()}
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args or [])
    executor.Executor(context).Do(inputs, {spec.INFERENCE_RESULT_KEY: [result]}, props)
    return result


def run_stock_bulk_inferrer(tmp_path: pathlib.Path, signature_name: str) -> str:
    """Stock BulkInferrer's executor on the Model and Examples `run_predictor` made."""
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / 'model')
    model.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, '1.16.0')
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / 'examples')
    examples.split_names = json.dumps(['eval'])
    result = make_output(standard_artifacts.InferenceResult, tmp_path / 'stock')
    stock_executor.Executor().Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.EXAMPLES_KEY: [examples],
        },
        {standard_component_specs.INFERENCE_RESULT_KEY: [result]},
        {
            standard_component_specs.MODEL_SPEC_KEY: json.dumps(
                {'model_signature_name': [signature_name]}
            ),
            standard_component_specs.DATA_SPEC_KEY: '{}',
        },
    )
    return result.uri


def read_logs(uri: str) -> list[PredictionLog]:
    files = sorted(tf.io.gfile.glob(f'{uri}/prediction_logs-*.gz'))
    dataset = tf.data.TFRecordDataset(files, compression_type='GZIP')
    return [PredictionLog.FromString(r) for r in dataset.as_numpy_iterator()]


def canonical(logs: list[PredictionLog]) -> list[str]:
    return sorted(text_format.MessageToString(log) for log in logs)


def saved_model_of(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / 'model' / artifacts.SERVING_MODEL_DIR)


def test_classify_logs_equal_stock_bulk_inferrer_and_core_predict(tmp_path: pathlib.Path) -> None:
    records = fixture_records(SEED, 'eval')
    blessing = make_output(standard_artifacts.ModelBlessing, tmp_path / 'blessing')
    (tmp_path / 'blessing' / artifacts.BLESSED_FILE).touch()
    blessing.set_int_custom_property(artifacts.BLESSED_PROPERTY, 1)
    result = run_predictor(tmp_path, records, blessing=blessing, max_batch_size=64)
    ours = read_logs(result.uri)
    assert [p.name for p in pathlib.Path(result.uri).iterdir()] == [
        'prediction_logs-00000-of-00001.gz'
    ]
    assert result.get_int_custom_property(spec.NUM_EXAMPLES_PROPERTY) == len(records)

    expected = core_predict(
        saved_model_of(tmp_path), {'inputs': np.array(records, dtype=object)}, tmp_path
    )
    by_example = {}
    for log in ours:
        example_bytes = log.classify_log.request.input.example_list.examples[0]
        classes = log.classify_log.response.result.classifications[0].classes
        by_example[example_bytes.SerializeToString(deterministic=True)] = classes
    for record, want in zip(records, expected, strict=True):
        key = tf.train.Example.FromString(record).SerializeToString(deterministic=True)
        classes = by_example[key]
        assert [c.label.encode() for c in classes] == list(want['classes'])
        np.testing.assert_allclose([c.score for c in classes], want['scores'], rtol=1e-6)

    stock = read_logs(run_stock_bulk_inferrer(tmp_path, 'serving_default'))
    assert_same_logs(ours, stock)


@pytest.mark.parametrize(
    ('model', 'signature_name', 'kind'),
    [(SEED, 'regression', 'regress_log'), ('custom_model_fn', 'serving_default', 'predict_log')],
)
def test_regress_and_predict_logs_equal_stock_bulk_inferrer(
    tmp_path: pathlib.Path, model: str, signature_name: str, kind: str
) -> None:
    records = fixture_records(model, 'eval')[:100]
    result = run_predictor(tmp_path, records, model, signature_name=signature_name)
    ours = read_logs(result.uri)
    assert {log.WhichOneof('log_type') for log in ours} == {kind}
    stock = read_logs(run_stock_bulk_inferrer(tmp_path, signature_name))
    assert_same_logs(ours, stock)


def test_rows_carry_the_passthrough_feature(tmp_path: pathlib.Path) -> None:
    records = with_ids(fixture_records('custom_model_fn', 'eval')[:50])
    result = run_predictor(
        tmp_path,
        records,
        'custom_model_fn',
        output_formats=['prediction_log', 'jsonl', 'parquet'],
        passthrough_features=['id'],
        max_batch_size=16,
    )
    rows_dir = 'rows/Split-eval/rows-00000-of-00001'
    assert listing(result.uri) == [
        'prediction_logs-00000-of-00001.gz',
        'rows',
        'rows/Split-eval',
        f'{rows_dir}.jsonl',
        f'{rows_dir}.parquet',
    ]
    expected = core_predict(
        saved_model_of(tmp_path), {'examples': np.array(records, dtype=object)}, tmp_path
    )
    lines = (pathlib.Path(result.uri) / f'{rows_dir}.jsonl').read_text().splitlines()
    json_rows = sorted((json.loads(line) for line in lines), key=lambda row: row['id'])
    parquet_rows = sorted(
        pq.read_table(pathlib.Path(result.uri) / f'{rows_dir}.parquet').to_pylist(),
        key=lambda row: row['id'],
    )
    for rows in (json_rows, parquet_rows):
        assert [row['id'] for row in rows] == list(range(50))
        assert list(rows[0]) == ['id', 'hidden_mean', 'prediction']
        for key in ('hidden_mean', 'prediction'):
            np.testing.assert_allclose([r[key] for r in rows], [e[key] for e in expected], 1e-6)


def test_not_blessed_model_is_skipped_with_a_reason(tmp_path: pathlib.Path) -> None:
    blessing = make_output(standard_artifacts.ModelBlessing, tmp_path / 'blessing')
    (tmp_path / 'blessing' / artifacts.NOT_BLESSED_FILE).touch()
    blessing.set_int_custom_property(artifacts.BLESSED_PROPERTY, 0)
    blessing.set_string_custom_property(artifacts.BLESSING_REASON_PROPERTY, 'auc below 0.9')
    result = run_predictor(tmp_path, fixture_records(SEED, 'eval'), blessing=blessing)
    assert listing(result.uri) == []
    reason = result.get_string_custom_property(spec.SKIPPED_REASON_PROPERTY)
    assert 'blessed=0 (auc below 0.9)' in reason


def test_raw_multi_input_signature_which_bulk_inferrer_cannot_run(tmp_path: pathlib.Path) -> None:
    saved_model = pathlib.Path(two_float_inputs(tmp_path / 'tiny'))
    records = [example(a=float(i), b=0.5, id=i) for i in range(20)]
    result = run_predictor(tmp_path, records, SEED, saved_model, max_batch_size=8)
    logs = read_logs(result.uri)
    core = core_predict(
        str(saved_model),
        {'a': np.arange(20, dtype=np.float32), 'b': np.full([20], 0.5, np.float32)},
        tmp_path,
    )
    got = {}
    for log in logs:
        request = log.predict_log.request.inputs['serialized_examples']
        index = tf.train.Example.FromString(request.string_val[0]).features.feature['id']
        got[index.int64_list.value[0]] = tf.make_ndarray(
            log.predict_log.response.outputs['weighted']
        )
    np.testing.assert_allclose([got[i][0] for i in range(20)], [c['weighted'] for c in core])
    with pytest.raises(ValueError, match='Signature should have 1 and only 1 inputs'):
        run_stock_bulk_inferrer(tmp_path, 'serving_default')


@pytest.mark.slow
def test_multi_processing_runner_writes_the_same_outputs(tmp_path: pathlib.Path) -> None:
    records = with_ids(fixture_records(SEED, 'eval'))
    params: dict[str, Any] = {
        'output_formats': ['prediction_log', 'jsonl'],
        'passthrough_features': ['id'],
        'max_batch_size': 32,
    }
    default = run_predictor(tmp_path / 'default', records, **params)
    multi = run_predictor(
        tmp_path / 'multi',
        records,
        beam_args=['--direct_running_mode=multi_processing', '--direct_num_workers=2'],
        **params,
    )
    assert canonical(read_logs(multi.uri)) == canonical(read_logs(default.uri))

    def lines(uri: str) -> list[str]:
        files = pathlib.Path(uri, 'rows', 'Split-eval').glob('*.jsonl')
        return sorted(line for f in files for line in f.read_text().splitlines())

    assert lines(multi.uri) == lines(default.uri)
    assert len(lines(default.uri)) == len(records)


def _count_sdists(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """TFX's sdist of itself, recorded instead of built."""
    built: list[str] = []

    def build() -> str:
        built.append('sdist')
        return '/nonexistent/tfx_ephemeral.tar.gz'

    monkeypatch.setattr(*_tfx_internal.ephemeral_package_builder(), build)
    return built


@pytest.mark.parametrize(
    'args',
    [
        ['--direct_running_mode=in_memory'],
        ['--runner=DirectRunner', '--direct_num_workers=1'],
    ],
)
def test_local_runner_skips_tfx_sdist_and_keeps_the_args(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    built = _count_sdists(monkeypatch)
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=list(args))
    predictor = executor.Executor(context)
    assert built == []
    assert _tfx_internal.beam_pipeline_args(predictor) == args
    # Straight to the runner the DirectRunner falls back to, with no Prism attempt first.
    assert isinstance(predictor._make_beam_pipeline().runner, _beam_internal.FnApiRunner)
    result = run_predictor(tmp_path, fixture_records(SEED, 'eval'), beam_args=args)
    assert built == []
    assert len(read_logs(result.uri)) == len(fixture_records(SEED, 'eval'))


def test_remote_runner_still_gets_tfx_sdist(monkeypatch: pytest.MonkeyPatch) -> None:
    built = _count_sdists(monkeypatch)
    args = ['--runner=DataflowRunner', '--project=p', '--region=r']
    predictor = executor.Executor(
        base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=list(args))
    )
    assert built == ['sdist']
    assert '--extra_package=/nonexistent/tfx_ephemeral.tar.gz' in (
        _tfx_internal.beam_pipeline_args(predictor)
    )


def _records_missing_b(count: int, missing_at: int) -> list[bytes]:
    return [example(a=1.0) if i == missing_at else example(a=1.0, b=2.0) for i in range(count)]


@pytest.mark.parametrize('missing_at', [5, 150], ids=['in-peek', 'beyond-peek'])
def test_missing_feature_of_raw_signature_names_file_and_record(
    tmp_path: pathlib.Path, missing_at: int
) -> None:
    saved_model = pathlib.Path(two_float_inputs(tmp_path / 'tiny'))
    with pytest.raises(
        ExampleFormatError,
        match=rf"Feature 'b' in examples '.*/Split-eval/data_tfrecord-00000-of-00001.gz' "
        rf'record {missing_at} is missing',
    ):
        run_predictor(tmp_path, _records_missing_b(200, missing_at), SEED, saved_model)
    assert listing(tmp_path / 'result') == []


def test_corrupt_tfrecord_fails_and_publishes_nothing(tmp_path: pathlib.Path) -> None:
    examples = make_examples(tmp_path / 'examples', SEED, {'eval': fixture_records(SEED, 'eval')})
    path = tmp_path / 'examples' / 'Split-eval' / 'data_tfrecord-00000-of-00001.gz'
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # the first records, peeked before the run, read
    model = make_model(tmp_path / 'model', SEED)
    result = make_output(standard_artifacts.InferenceResult, tmp_path / 'result')
    with pytest.raises(ExampleFormatError, match=r"TFRecord file '.*\.gz' is corrupt or truncated"):
        executor.Executor().Do(
            {spec.MODEL_KEY: [model], spec.EXAMPLES_KEY: [examples]},
            {spec.INFERENCE_RESULT_KEY: [result]},
            {spec.OUTPUT_FORMATS_KEY: json.dumps(['prediction_log', 'jsonl'])},
        )
    assert listing(result.uri) == []


def test_empty_split_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ExampleFormatError, match=r"Split 'eval' holds no records"):
        run_predictor(tmp_path, [])
    assert listing(tmp_path / 'result') == []


def test_component_declares_its_parameters() -> None:
    component = BatchPredictor(
        model=types.Channel(type=standard_artifacts.Model),
        examples=types.Channel(type=standard_artifacts.Examples),
        splits=['eval'],
        output_formats=['prediction_log', 'parquet'],
        passthrough_features=['id'],
    )
    assert component.exec_properties == {
        'signature_name': 'serving_default',
        'tags': '["serve"]',
        'splits': '["eval"]',
        'min_batch_size': 1,
        'max_batch_size': 4096,
        'output_formats': '["prediction_log", "parquet"]',
        'passthrough_features': '["id"]',
    }
    with pytest.raises(ValueError, match=r'output_formats must be some of .* given: \[.csv.\]'):
        BatchPredictor(
            model=types.Channel(type=standard_artifacts.Model),
            examples=types.Channel(type=standard_artifacts.Examples),
            output_formats=['csv'],
        )
