"""Every benign export imports: the goldens, the upstream suite, and each canned family.

The safety scan refuses by construction (an allowlist, an exact saver, assets inside assets/):
these are the models it must keep accepting. tests/data/canned_exports holds one export of
every canned tf.estimator family and head, made by tools/export_canned_families.py in
.venv-reference (TF 2.15 + tensorflow-estimator 2.15).
"""

from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner

from savedmodel_estimator.inspection import content_hash
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.saved_model_importer import executor, spec
from savedmodel_estimator_tfx.pipelines.cli import main
from tests.support.paths import DATA

CANNED = DATA / 'canned_exports'
BENIGN = sorted(DATA.glob('*/*/saved_model'))
FAMILIES = ('dnn', 'linear', 'dnn_linear')
HEADS = ('binary', 'multiclass', 'regressor')


def _id(path: pathlib.Path) -> str:
    return f'{path.parents[1].name}/{path.parent.name}'


def test_the_benign_set_is_the_goldens_the_upstream_suite_and_every_canned_family():
    groups = {p.parents[1].name: 0 for p in BENIGN}
    for path in BENIGN:
        groups[path.parents[1].name] += 1
    assert groups['upstream_suite'] == 12
    assert groups['estimator_exports'] >= 5
    assert groups['canned_exports'] == len(FAMILIES) * len(HEADS)


def test_the_canned_exports_cover_every_family_head_and_column_kind():
    manifest = json.loads((CANNED / 'MANIFEST.json').read_text())
    models = {k: v for k, v in manifest.items() if not k.startswith('_')}
    assert {(m['family'], m['head']) for m in models.values()} == {
        (f, h) for f in FAMILIES for h in HEADS
    }
    columns = {c for m in models.values() for c in m['linear_columns'] + m['dnn_columns']}
    assert {'color', 'city', 'age_buckets', 'cross', 'x'} <= columns  # vocab file, hash, ...
    assert {'color_embedding', 'city_embedding', 'cross_embedding'} <= columns
    assert any(m['weight_column'] for m in models.values())
    assert any(m['partitioned'] for m in models.values())
    assert manifest['_generated_by']['tensorflow_estimator'] == '2.15.0'
    for name in models:
        reader = SavedModelReader(CANNED / name / 'saved_model')
        assert reader.available_modes == ['train', 'eval', 'infer'], name
    vocabulary = CANNED / 'dnn_binary' / 'saved_model' / 'assets' / 'colors.txt'
    assert vocabulary.read_text().split() == ['red', 'green', 'blue', 'black']


@pytest.mark.parametrize('source', BENIGN, ids=_id)
def test_the_importer_accepts_it(tmp_path, source):
    model = tmp_path / 'model'
    executor.import_saved_model(executor.ImportOptions(source_uri=str(source)), str(model))
    assert content_hash(model / artifacts.SERVING_MODEL_DIR) == content_hash(source)


@pytest.mark.parametrize('source', BENIGN, ids=_id)
def test_sme_import_accepts_it(tmp_path, source):
    out = tmp_path / 'model'
    result = CliRunner().invoke(main, ['import', str(source), '--out', str(out)])
    assert result.exit_code == 0, result.output
    properties = json.loads(result.output)[spec.MODEL_KEY]
    assert properties[artifacts.CONTENT_HASH_PROPERTY] == content_hash(source)
    assert (out / artifacts.SERVING_MODEL_DIR / 'saved_model.pb').exists()
