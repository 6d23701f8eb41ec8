"""Bad SavedModel directories get errors that name the path and the problem, never a crash.

Asset names that leave assets/ are refused where the core joins them (reader, estimator, export).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from savedmodel_estimator import ModeKeys, SavedModelEstimator, SavedModelFormatError
from savedmodel_estimator.export import build_raw_serving_input_receiver_fn
from savedmodel_estimator.model_safety.assets import AssetPathError
from savedmodel_estimator.saved_model_reader import SavedModelReader
from tests.support.paths import SEED

pytestmark = pytest.mark.core


@pytest.fixture
def seed_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / 'saved_model'
    shutil.copytree(SEED / 'saved_model', target)
    return target


def eval_input_fn():
    features = {
        'feature1': tf.constant(['green', 'yellow']),
        'feature2': tf.constant([1.0, 2.0]),
    }
    return tf.data.Dataset.from_tensors((features, tf.constant([1.0, 0.0])))


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / 'nope'
    with pytest.raises(SavedModelFormatError, match=r"'.*nope'.*does not exist"):
        SavedModelEstimator(missing)


def test_a_file_is_not_a_saved_model(tmp_path):
    path = tmp_path / 'model.pb'
    path.write_bytes(b'x')
    with pytest.raises(ValueError, match='is a file, but a SavedModel is a directory'):
        SavedModelEstimator(path)


def test_directory_without_saved_model_pb_lists_what_it_found(tmp_path):
    (tmp_path / 'checkpoint').write_text('x')
    with pytest.raises(SavedModelFormatError, match=r'no saved_model.pb .*found: checkpoint'):
        SavedModelEstimator(tmp_path)


def test_corrupt_saved_model_pb(seed_copy):
    (seed_copy / 'saved_model.pb').write_bytes(b'\x0a\xff\xff\xff\xff garbage')
    with pytest.raises(SavedModelFormatError, match=r'saved_model\.pb is corrupt'):
        SavedModelEstimator(seed_copy)


def test_truncated_saved_model_pb(seed_copy):
    data = (seed_copy / 'saved_model.pb').read_bytes()
    (seed_copy / 'saved_model.pb').write_bytes(data[: len(data) // 2])
    with pytest.raises(SavedModelFormatError, match='corrupt'):
        SavedModelEstimator(seed_copy)


def test_empty_saved_model_pb_has_no_meta_graph(seed_copy):
    (seed_copy / 'saved_model.pb').write_bytes(b'')
    with pytest.raises(SavedModelFormatError, match='holds no MetaGraph'):
        SavedModelEstimator(seed_copy)


def test_missing_variables_is_the_originals_invalid_format_error(seed_copy, tmp_path):
    shutil.rmtree(seed_copy / 'variables')
    est = SavedModelEstimator(seed_copy, tmp_path / 'model_dir')
    with pytest.raises(ValueError, match='invalid SavedModel format: it has no variables'):
        est.latest_checkpoint()
    with pytest.raises(ValueError, match='invalid SavedModel format'):
        est.evaluate(eval_input_fn, steps=1)


def test_corrupt_variables_data_names_the_checkpoint(seed_copy, tmp_path):
    data_file = seed_copy / 'variables' / 'variables.data-00000-of-00001'
    size = data_file.stat().st_size
    data_file.write_bytes(b'\0' * size)  # right size, wrong bytes: the checksum catches it
    est = SavedModelEstimator(seed_copy, tmp_path / 'model_dir')
    with pytest.raises(SavedModelFormatError, match=r'variables could not be read'):
        est.evaluate(eval_input_fn, steps=1)


def test_truncated_variables_index(seed_copy, tmp_path):
    index = seed_copy / 'variables' / 'variables.index'
    index.write_bytes(index.read_bytes()[:20])
    est = SavedModelEstimator(seed_copy, tmp_path / 'model_dir')
    with pytest.raises(SavedModelFormatError, match='variables could not be read'):
        est.evaluate(eval_input_fn, steps=1)


def test_available_modes_of_a_full_export(seed_copy, tmp_path):
    est = SavedModelEstimator(seed_copy, tmp_path / 'model_dir')
    assert est.available_modes == [ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT]


# Asset names: every place the core joins one to a directory keeps it inside.

UPSTREAM_ASSETS = SEED.parents[1] / 'upstream_suite' / 'assets' / 'saved_model'


def _with_asset_named(tmp_path: pathlib.Path, filename: str) -> pathlib.Path:
    """The upstream `assets` scenario with its asset's file name replaced."""
    target = tmp_path / 'renamed_asset'
    shutil.copytree(UPSTREAM_ASSETS, target)
    saved_model = saved_model_pb2.SavedModel.FromString((target / 'saved_model.pb').read_bytes())
    for meta_graph in saved_model.meta_graphs:
        for packed in meta_graph.collection_def['saved_model_assets'].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            packed.Unpack(asset)
            asset.filename = filename
            packed.Pack(asset)
    (target / 'saved_model.pb').write_bytes(saved_model.SerializeToString())
    return target


def test_asset_paths_are_joined_inside_assets():
    reader = SavedModelReader(UPSTREAM_ASSETS)
    (path,) = reader.asset_paths(ModeKeys.TRAIN).values()
    assert path == os.path.join(str(UPSTREAM_ASSETS), 'assets', 'test_asset')


@pytest.mark.parametrize('filename', ['/etc/hostname', '../../../../../../etc/hostname'])
def test_an_asset_named_outside_assets_is_refused_at_load(tmp_path, filename):
    path = _with_asset_named(tmp_path, filename)
    with pytest.raises(
        AssetPathError,
        match=rf"asset {re.escape(repr(filename))} \(asset tensor '.*' of MetaGraph \['train'\]\) "
        r'resolves outside its assets/ directory; expected a relative file name inside assets/',
    ):
        SavedModelEstimator(path, tmp_path / 'model_dir')


def test_assets_extra_outside_assets_extra_is_refused_and_nothing_is_exported(tmp_path):
    source = tmp_path / 'extra.txt'
    source.write_text('x')
    base = tmp_path / 'exports'
    predict_only = SEED.parent / 'dnn_classifier_predict_only' / 'saved_model'
    est = SavedModelEstimator(predict_only, tmp_path / 'model_dir')
    receiver = build_raw_serving_input_receiver_fn({'inputs': tf.TensorSpec([None], tf.string)})
    with pytest.raises(
        AssetPathError,
        match=r"asset '\.\./\.\./escape.txt' \(assets_extra key '\.\./\.\./escape.txt'\) resolves "
        r'outside its assets.extra/ directory',
    ):
        est.export_saved_model(
            str(base),
            receiver,
            assets_extra={'../../escape.txt': str(source)},
            checkpoint_path=str(predict_only / 'variables' / 'variables'),
        )
    assert not (base / 'escape.txt').exists()
    assert not base.exists() or list(base.iterdir()) == []
