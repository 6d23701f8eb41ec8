"""Bad input is refused before anything is written, naming the file, the line or record, the feature.

`sme run` on a copy of the demo with one cell changed: a NaN or infinity, a byte that is not
UTF-8; or a path that does not exist, a threshold on a metric the model does not export. And the
stages alone (`sme train`, `sme evaluate`) on examples with a NaN beyond the first records.
"""

from __future__ import annotations

import pathlib
import re
import shutil
from typing import Any

import pytest
import tensorflow as tf
from click.testing import CliRunner

from savedmodel_estimator_tfx.components.common import finite_values
from savedmodel_estimator_tfx.pipelines import preflight
from savedmodel_estimator_tfx.pipelines.cli import main, run_command
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig
from tests.integration.golden_artifacts import (
    EXPORTS,
    fixture_records,
    make_examples,
    write_records,
)
from tests.support.paths import SEED

DEMO = pathlib.Path(__file__).resolve().parents[2] / 'examples' / 'demo'
# Line 18 of the demo's train.csv (line 1 is the header): customer c00016.
LINE = 18


def sme(*args: Any) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def demo(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the demo's saved model and data under `tmp_path`."""
    shutil.copytree(DEMO / 'data', tmp_path / 'data')
    return tmp_path


def set_cell(csv_file: pathlib.Path, line: int, column: str, value: bytes) -> None:
    """Replaces one cell of a CSV file (line counted from 1, the header included)."""
    lines = csv_file.read_bytes().split(b'\n')
    header = lines[0].rstrip(b'\r').split(b',')
    cells = lines[line - 1].split(b',')
    cells[header.index(column.encode())] = value
    lines[line - 1] = b','.join(cells)
    csv_file.write_bytes(b'\n'.join(lines))


def run_args(root: pathlib.Path, *extra: Any, saved_model: Any = None) -> list[Any]:
    return [
        'run',
        '--saved-model', saved_model or DEMO / 'saved_model',
        '--data', root / 'data',
        '--output-dir', root / 'out',
        *extra,
    ]  # fmt: skip


@pytest.mark.parametrize('value', ['nan', 'inf', '-Infinity', '1e39'])
def test_a_non_finite_csv_value_is_refused_naming_file_line_and_feature(
    demo: pathlib.Path, value: str
) -> None:
    set_cell(demo / 'data' / 'train.csv', LINE, 'tenure', value.encode())
    code, out = sme(*run_args(demo))
    assert code == 2, out
    assert (
        f"Feature 'tenure' in CSV file '{demo / 'data' / 'train.csv'}' line {LINE} is "
        f"'{value}', which is not a finite float32" in out
    )
    assert 'pass --allow-non-finite' in out
    assert not (demo / 'out').exists()


def test_non_finite_values_pass_when_allowed(demo: pathlib.Path, monkeypatch) -> None:
    set_cell(demo / 'data' / 'eval.csv', 7, 'monthly_charge', b'nan')
    config = PipelineConfig(
        saved_model=str(DEMO / 'saved_model'), data=str(demo / 'data'), allow_non_finite=True
    )
    preflight.check_run(config)  # no error
    with pytest.raises(preflight.PreflightError, match=r"'monthly_charge' .*eval.csv' line 7"):
        preflight.check_run(config.replace(allow_non_finite=False))

    given: list[PipelineConfig] = []
    monkeypatch.setattr(run_command, 'run_pipeline', lambda config, **_: given.append(config))
    assert sme(*run_args(demo, '--allow-non-finite'))[0] == 0
    assert given[0].allow_non_finite is True


def test_a_byte_that_is_not_utf8_is_reported_with_file_and_line(demo: pathlib.Path) -> None:
    set_cell(demo / 'data' / 'eval.csv', 41, 'plan', b'b\xe9sic')
    code, out = sme(*run_args(demo))
    assert code == 2, out
    assert f"CSV file '{demo / 'data' / 'eval.csv'}' line 41 is not UTF-8: byte 0xe9" in out
    assert not (demo / 'out').exists()


@pytest.mark.parametrize(
    ('case', 'message'),
    [
        ('saved_model', r"--saved-model '.*nowhere' does not exist"),
        ('data', r"--data '.*nowhere' does not exist"),
        ('no_train_files', r"No train data in --data '.*': nothing matches 'train\*.csv'"),
        ('predict_only', r"has no 'train' MetaGraph \(found: infer\)"),
        (
            'threshold',
            r"names 'metrics/acuracy', which the model .* Did you mean 'metrics/accuracy'",
        ),
    ],
)
def test_bad_paths_and_thresholds_are_refused_before_anything_is_written(
    demo: pathlib.Path, case: str, message: str
) -> None:
    args = run_args(demo)
    if case == 'saved_model':
        args = run_args(demo, saved_model=demo / 'nowhere')
    if case == 'data':
        args[args.index('--data') + 1] = demo / 'nowhere'
    if case == 'no_train_files':
        (demo / 'data' / 'train.csv').rename(demo / 'data' / 'learn.csv')
    if case == 'predict_only':
        args = run_args(demo, saved_model=EXPORTS / 'dnn_classifier_predict_only' / 'saved_model')
    if case == 'threshold':
        args += ['--threshold', 'metrics/acuracy>=0.5']
    code, out = sme(*args)
    assert code == 2, out
    assert re.search(message, out.replace('\n', ' ')), out
    assert not (demo / 'out').exists()


def nan_record(record: bytes, feature: str = 'feature2', value: float = float('nan')) -> bytes:
    example = tf.train.Example.FromString(record)
    example.features.feature[feature].float_list.value[:] = [value]
    return example.SerializeToString()


def test_tfrecord_data_is_scanned_too(tmp_path: pathlib.Path) -> None:
    """ImportExampleGen's input: plain TFRecord files; a NaN beyond the first 100 records."""
    records = fixture_records('dnn_classifier_seed', 'train')
    records[150] = nan_record(records[150], value=float('-inf'))
    write_records(tmp_path / 'data' / 'train.tfrecord', records, gzip=False)
    write_records(tmp_path / 'data' / 'eval.tfrecord', records[:10], gzip=False)
    code, out = sme(*run_args(tmp_path, saved_model=SEED / 'saved_model'))
    assert code == 2, out
    assert (
        f"Feature 'feature2' in examples '{tmp_path / 'data' / 'train.tfrecord'}' record 150 "
        "is -inf: the 'train' data must be finite" in out.replace('\n', ' ')
    )
    assert not (tmp_path / 'out').exists()


def test_the_scan_counts_records_across_batches(tmp_path: pathlib.Path) -> None:
    records = fixture_records('dnn_classifier_seed', 'train') * 15  # 4,500 > one scan batch
    index = finite_values.SCAN_BATCH + 17
    records[index] = nan_record(records[index], 'label', float('inf'))
    path = tmp_path / 'data.gz'
    write_records(path, records)
    found = finite_values.find_non_finite([str(path)], ['feature2', 'label'])
    assert found == finite_values.NonFiniteValue(str(path), index, 'label', float('inf'))
    assert finite_values.find_non_finite([str(path)], ['feature2']) is None


def test_sme_evaluate_and_train_refuse_a_nan_and_evaluate_allows_it_when_told(
    tmp_path: pathlib.Path,
) -> None:
    records = fixture_records('dnn_classifier_seed', 'eval')
    records[120] = nan_record(records[120])
    examples = make_examples(
        tmp_path / 'examples', 'dnn_classifier_seed', {'train': records, 'eval': records}
    )
    evaluate = [
        'evaluate',
        '--model', SEED / 'saved_model',
        '--examples', examples.uri,
        '--out', tmp_path / 'evaluation',
        '--blessing-out', tmp_path / 'blessing',
    ]  # fmt: skip
    code, out = sme(*evaluate)
    assert code == 2, out
    assert "Feature 'feature2' in examples '" in out
    assert "Split-eval/data_tfrecord-00000-of-00001.gz' record 120 is nan" in out
    assert not (tmp_path / 'evaluation' / 'metrics.json').exists()

    code, out = sme(*evaluate, '--allow-non-finite')
    assert code == 0, out

    code, out = sme(
        'train',
        '--model', SEED / 'saved_model',
        '--examples', examples.uri,
        '--out', tmp_path / 'trained',
        '--run-dir', tmp_path / 'run',
        '--train-steps', 5,
    )  # fmt: skip
    assert code == 2, out
    assert "Split-train/data_tfrecord-00000-of-00001.gz' record 120 is nan" in out
    assert 'sme train --allow-non-finite' in out
    assert not (tmp_path / 'trained' / 'Format-Serving').exists()
