"""The Beam layer on golden exports and tiny raw-signature models, against the core's predict.

Pipelines run on the DirectRunner with `TestPipeline` + `assert_that`; the expected values come
from `SavedModelEstimator.predict` on the same records (an independent path: the core imports the
graph itself, with an input_fn), or from arithmetic for the tiny models.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2

from savedmodel_estimator.beam import (
    LogFormat,
    PredictExamples,
    PredictionBatch,
    PredictPerExample,
    RowColumns,
    SavedModelSignatureHandler,
    SignatureSpec,
    load_runner,
)
from savedmodel_estimator.serving.signature_runner import SignatureNotFoundError
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError
from tests.support.core_predict import core_predict
from tests.support.paths import EXPORTS, SEED_SAVED_MODEL
from tests.support.tiny_models import WEIGHTS, example, sparse_input_and_output, two_float_inputs

SEED = str(SEED_SAVED_MODEL)
CUSTOM = str(EXPORTS / 'custom_model_fn' / 'saved_model')


def eval_records(model: str, count: int) -> list[bytes]:
    path = str(EXPORTS / model / 'data' / 'eval.tfrecord')
    return [bytes(r) for r in tf.data.TFRecordDataset(path).take(count).as_numpy_iterator()]


def per_record(batch: PredictionBatch) -> list[tuple[bytes, dict[str, Any]]]:
    return [
        (record, {key: value[i] for key, value in batch.outputs.items()})
        for i, record in enumerate(batch.records)
    ]


def close_to(expected: Sequence[tuple[Any, dict[str, Any]]]) -> Callable[[list], None]:
    """Matches (key, outputs) pairs in any order, outputs equal to float32 rounding."""

    def canonical(pairs: Sequence[tuple[Any, dict[str, Any]]]) -> list[tuple[Any, dict]]:
        return sorted(pairs, key=lambda p: (repr(p[0]), repr(sorted(p[1]))))

    def match(actual: list) -> None:
        if len(actual) != len(expected):
            raise BeamAssertException(f'{len(actual)} results, expected {len(expected)}')
        for (key, got), (want_key, want) in zip(
            canonical(actual), canonical(expected), strict=True
        ):
            if key != want_key or set(got) != set(want):
                raise BeamAssertException(f'{key!r}: {sorted(got)} != {want_key!r}: {sorted(want)}')
            for name in want:
                got_value, want_value = np.asarray(got[name]), np.asarray(want[name])
                if want_value.dtype == object:
                    np.testing.assert_array_equal(got_value, want_value)
                else:
                    np.testing.assert_allclose(got_value, want_value, rtol=1e-6, atol=1e-7)

    return match


def test_classify_signature_on_serialized_examples_matches_core(tmp_path: pathlib.Path) -> None:
    records = eval_records('dnn_classifier_seed', 40)
    expected = core_predict(SEED, {'inputs': np.array(records, dtype=object)}, tmp_path)
    with test_pipeline.TestPipeline() as p:
        results = (
            p
            | beam.Create(records)
            | PredictExamples(SEED, min_batch_size=4, max_batch_size=16)
            | beam.FlatMap(per_record)
        )
        assert_that(results, close_to(list(zip(records, expected, strict=True))))


def test_run_inference_path_on_examples_key_matches_core(tmp_path: pathlib.Path) -> None:
    records = eval_records('custom_model_fn', 30)
    expected = core_predict(CUSTOM, {'examples': np.array(records, dtype=object)}, tmp_path)
    with test_pipeline.TestPipeline() as p:
        results = (
            p
            | beam.Create(records)
            | PredictPerExample(CUSTOM, max_batch_size=8)
            | beam.Map(lambda r: (r.example, r.inference))
        )
        assert_that(results, close_to(list(zip(records, expected, strict=True))))


@pytest.fixture(scope='module')
def raw_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return two_float_inputs(tmp_path_factory.mktemp('raw') / 'model')


@pytest.fixture(scope='module')
def sparse_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return sparse_input_and_output(tmp_path_factory.mktemp('sparse') / 'model')


def test_raw_signature_parses_examples_in_graph_and_matches_core(
    raw_model: str, tmp_path: pathlib.Path
) -> None:
    a, b = np.arange(12, dtype=np.float32), np.linspace(-3, 3, 12).astype(np.float32)
    records = [
        example(a=float(x), b=float(y), id=i) for i, (x, y) in enumerate(zip(a, b, strict=True))
    ]
    expected = core_predict(raw_model, {'a': a, 'b': b}, tmp_path)
    np.testing.assert_allclose([e['weighted'] for e in expected], WEIGHTS[0] * a + WEIGHTS[1] * b)
    spec = SignatureSpec(raw_model, passthrough_features=(('id', tf.int64),))
    with test_pipeline.TestPipeline() as p:
        batches = p | beam.Create(records) | PredictExamples(spec, max_batch_size=5)
        ids = batches | beam.FlatMap(lambda batch: batch.passthrough['id'].values.tolist())
        assert_that(
            batches | beam.FlatMap(per_record), close_to(list(zip(records, expected, strict=True)))
        )
        assert_that(ids, equal_to(list(range(12))), label='Ids')


def test_run_inference_on_dicts_of_arrays(raw_model: str) -> None:
    inputs = [{'a': np.float32(i), 'b': np.float32(1)} for i in range(6)]
    expected = [(i, {'weighted': 2.0 * i - 1, 'both': [i, 1.0]}) for i in range(6)]
    with test_pipeline.TestPipeline() as p:
        results = (
            p
            | beam.Create(inputs)
            | PredictPerExample(raw_model, max_batch_size=4)
            | beam.Map(lambda r: (int(r.example['a']), r.inference))
        )
        assert_that(results, close_to(expected))


def test_sparse_input_and_sparse_output(sparse_model: str) -> None:
    tokens = [[1, 2, 3], [], [7], [4, 4]]
    records = [example(tokens=t, scale=0.5) for t in tokens]
    with test_pipeline.TestPipeline() as p:
        results = (
            p
            | beam.Create(records)
            | PredictPerExample(sparse_model, max_batch_size=4)
            | beam.Map(lambda r: (r.example, {k: np.asarray(v) for k, v in r.inference.items()}))
        )
        expected = [
            (rec, {'total': 0.5 * sum(t), 'doubled': np.array([2 * x for x in t], np.int64)})
            for rec, t in zip(records, tokens, strict=True)
        ]
        assert_that(results, close_to(expected))


def test_model_is_loaded_once_per_process_and_spec() -> None:
    handler = SavedModelSignatureHandler(SEED, min_batch_size=2, max_batch_size=8)
    assert handler.batch_elements_kwargs() == {'min_batch_size': 2, 'max_batch_size': 8}
    first = handler.load_model()
    assert SavedModelSignatureHandler(SEED).load_model() is first
    assert load_runner(SignatureSpec(SEED, 'predict')) is not first


def test_missing_feature_of_a_raw_signature_names_feature_and_record(raw_model: str) -> None:
    records = [example(a=1.0, b=2.0), example(a=1.0, b=2.0), example(a=3.0)]
    runner = load_runner(SignatureSpec(raw_model))
    with pytest.raises(
        ExampleFormatError, match=r"Feature 'b' in examples 'f.gz' record 12 is missing"
    ):
        runner.run(records, source='f.gz', first_index=10)
    pattern = r"Feature 'b' .* record 2 is missing"
    with pytest.raises(ExampleFormatError, match=pattern), test_pipeline.TestPipeline() as p:
        _ = p | beam.Create([records]) | PredictExamples(raw_model, prebatched=True)


def test_unknown_signature_and_tags_name_what_exists() -> None:
    with pytest.raises(
        SignatureNotFoundError, match=r"no signature 'nope' .*'classification', 'predict'"
    ):
        load_runner(SignatureSpec(SEED, 'nope'))
    with pytest.raises(SignatureNotFoundError, match=r"no MetaGraph tagged \['gpu'\]"):
        load_runner(SignatureSpec(SEED, tags=('gpu',)))


def test_bad_batch_sizes() -> None:
    with pytest.raises(ValueError, match=r'min_batch_size=8, max_batch_size=4'):
        PredictExamples(SEED, min_batch_size=8, max_batch_size=4)


def test_non_batch_outputs_need_output_keys(tmp_path: pathlib.Path) -> None:
    records = eval_records('dnn_classifier_seed', 3)
    eval_graph = SignatureSpec(SEED, 'eval', ('eval',))
    with pytest.raises(ValueError, match=r"Output 'loss' .* Choose the per-record outputs"):
        load_runner(eval_graph).run(records)
    keys = ('predictions/logits',)
    runner = load_runner(SignatureSpec(SEED, 'eval', ('eval',), output_keys=keys))
    assert runner.run(records).outputs['predictions/logits'].shape == (3, 1)


def _log_text(serialized: bytes) -> str:
    return text_format.MessageToString(prediction_log_pb2.PredictionLog.FromString(serialized))


def test_predict_logs_parse_as_tfx_bsl_builds_them() -> None:
    outputs = {
        'f32': np.array([[1.5, 2.0], [3.0, -1.0]], np.float32),
        'i64': np.array([7, 8], np.int64),
        's': np.array([[b'x'], [b'y']], dtype=object),
        'flag': np.array([True, False]),
        'u16': np.array([[[1, 2]], [[3, 4]]], np.uint16),
        'logit': np.array([[0.25], [-4.0]], np.float32),
        'f64': np.array([1e300, -2.0]),
        'i32': np.array([[-5], [3]], np.int32),
        'none': np.zeros([2, 0], np.float32),
    }
    batch = PredictionBatch([b'r0', b'r1'], outputs)
    got = LogFormat('predict', 'sig', 'examples').encode(batch)
    for i, serialized in enumerate(got):
        want = prediction_log_pb2.PredictionLog()
        log = want.predict_log
        log.request.model_spec.signature_name = log.response.model_spec.signature_name = 'sig'
        request_input = log.request.inputs['examples']
        request_input.dtype = tf.string.as_datatype_enum
        request_input.tensor_shape.dim.add().size = 1
        request_input.string_val.append(batch.records[i])
        for key, value in outputs.items():
            row = value[i]  # what tfx_bsl's _PredictModelHandler does
            log.response.outputs[key].CopyFrom(
                tf.make_tensor_proto(row, tf.as_dtype(row.dtype), np.expand_dims(row, 0).shape)
            )
        assert _log_text(serialized) == text_format.MessageToString(want)


def test_sparse_outputs_are_logged_as_their_three_parts(sparse_model: str) -> None:
    records = [example(tokens=[1, 2], scale=1.0), example(tokens=[], scale=1.0)]
    result = load_runner(SignatureSpec(sparse_model)).run(records)
    logs = LogFormat.for_spec(SignatureSpec(sparse_model)).encode(
        PredictionBatch(records, result.outputs)
    )
    outputs = prediction_log_pb2.PredictionLog.FromString(logs[0]).predict_log.response.outputs
    assert sorted(outputs) == ['doubled/dense_shape', 'doubled/indices', 'doubled/values', 'total']
    np.testing.assert_array_equal(tf.make_ndarray(outputs['doubled/values']), [2, 4])
    np.testing.assert_array_equal(tf.make_ndarray(outputs['doubled/indices']), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(tf.make_ndarray(outputs['doubled/dense_shape']), [1, 2])
    request = prediction_log_pb2.PredictionLog.FromString(logs[1]).predict_log.request
    assert request.inputs['serialized_examples'].string_val == [records[1]]


def test_rows_carry_passthrough_and_sparse_outputs(sparse_model: str) -> None:
    spec = SignatureSpec(sparse_model, passthrough_features=(('id', tf.string),))
    columns = RowColumns.for_spec(spec)
    sparse = tf.compat.v1.SparseTensorValue(
        np.array([[0, 0], [0, 1], [2, 0]]), np.array([4, 6, 8]), np.array([3, 2])
    )
    ids = tf.compat.v1.SparseTensorValue(np.array([[0, 0], [2, 0]]), np.array([b'a', b'c']), [3, 1])
    batch = PredictionBatch(
        [b'', b'', b''],
        {'doubled': sparse, 'total': np.array([1.0, 0.0, 2.5], np.float32)},
        {'id': ids},
    )
    lines = columns.json_lines(batch).decode().splitlines()
    assert lines[1] == '{"id": null, "doubled": [], "total": 0.0}'
    table = columns.table(batch, columns.arrow_schema())
    assert table.to_pylist()[0] == {'id': 'a', 'doubled': [4, 6], 'total': 1.0}
    assert str(table.schema.field('doubled').type) == 'list<item: int64>'


def test_passthrough_feature_with_many_values_is_refused(raw_model: str) -> None:
    spec = SignatureSpec(raw_model, passthrough_features=(('id', tf.int64),))
    records = [example(a=1.0, b=1.0, id=[1, 2])]
    batch = load_runner(spec).run(records, source='in.gz')
    predictions = PredictionBatch(records, batch.outputs, batch.passthrough, 'in.gz')
    with pytest.raises(ValueError, match=r"'id' holds 2 values in record 0 of 'in.gz'"):
        RowColumns.for_spec(spec).json_lines(predictions)
