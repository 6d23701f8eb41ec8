"""Asset names that leave assets/: refused by the scan and wherever the core joins them."""

from __future__ import annotations

import pytest

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.model_safety.assets import AssetPathError, normalized
from savedmodel_estimator.saved_model_reader import SavedModelReader
from tests.unit.test_hostile_models import asset_outside_assets

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    'name', ['../x', '/etc/passwd', 'a/../../x', '', '..', 'C:evil', 'gs://b/x', 'a\\..\\x']
)
def test_asset_names_that_leave_assets_are_refused(name):
    assert normalized(name) is None


@pytest.mark.parametrize(('name', 'expected'), [('vocab.txt', 'vocab.txt'), ('a/./b/../c', 'a/c')])
def test_asset_names_inside_assets_are_normalized(name, expected):
    assert normalized(name) == expected


def test_the_reader_and_the_estimator_refuse_an_asset_outside_assets(tmp_path):
    path = asset_outside_assets(tmp_path)
    message = (
        r"asset '\.\./.*etc/hostname' \(asset tensor 'asset_path:0' of MetaGraph \['serve'\]\) "
        r'resolves outside its assets/ directory; expected a relative file name inside assets/'
    )
    with pytest.raises(AssetPathError, match=message):
        SavedModelReader(path)
    with pytest.raises(AssetPathError, match=message):
        SavedModelEstimator(path, tmp_path / 'model_dir')
    reader = SavedModelReader(path, check_assets=False)  # what the scan reads it with
    with pytest.raises(AssetPathError, match=message):
        reader.asset_paths('infer')
