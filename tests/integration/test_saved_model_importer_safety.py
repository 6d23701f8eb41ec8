"""SavedModelImporter on untrusted exports: unsafe ops named and refused, nothing published, unless allowed by name."""

from __future__ import annotations

import pytest

from savedmodel_estimator.model_safety.findings import Kind
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.saved_model_importer import (
    executor,
)
from tests.integration.test_saved_model_importer import (
    _assert_nothing_published,
    _do,
    _mkdir,
    _with_injected_write_file,
)
from tests.unit.test_hostile_models import HOSTILE, matching
from tests.unit.test_hostile_savers import SAVER_HOSTILE


def test_unsafe_op_names_op_node_and_meta_graph(tmp_path):
    source = _with_injected_write_file(tmp_path)
    with pytest.raises(
        executor.UnsafeOpsError,
        match=r"was refused: 1 problem\(s\).*\n  WriteFile \(node 'leak' in MetaGraph \['serve'\]\): "
        r'reads, writes, lists or maps files of the host; expected ops that touch nothing '
        r"outside the process and the SavedModel\n.*allow_unsafe_ops=\['WriteFile'\]",
    ) as raised:
        _do(tmp_path, source)
    assert [op.op_type for op in raised.value.ops] == ['WriteFile']
    _assert_nothing_published(tmp_path)


def test_allowed_unsafe_op_imports(tmp_path):
    source = _with_injected_write_file(tmp_path)
    _do(tmp_path, source, allow_unsafe_ops='["WriteFile"]')
    assert (tmp_path / 'model' / artifacts.SERVING_MODEL_DIR / 'saved_model.pb').exists()


@pytest.mark.parametrize('hostile', HOSTILE + SAVER_HOSTILE, ids=lambda h: h.build.__name__)
def test_every_hostile_class_is_refused_and_nothing_is_published(tmp_path, hostile):
    source = hostile.build(_mkdir(tmp_path / 'source'))
    with pytest.raises(executor.UnsafeOpsError) as raised:
        _do(tmp_path, source)
    (finding, *_) = matching(raised.value.ops, hostile)
    assert f'  {finding}\n' in str(raised.value)
    assert str(raised.value).startswith(f'SavedModel at {str(source)!r} was refused')
    _assert_nothing_published(tmp_path)


def test_what_no_name_can_allow_says_so(tmp_path):
    (hostile,) = [h for h in HOSTILE if h.kind is Kind.UNREGISTERED and not h.function]
    with pytest.raises(executor.UnsafeOpsError, match='cannot be allowed by name: fix the export'):
        _do(tmp_path, hostile.build(_mkdir(tmp_path / 'source')))
    _assert_nothing_published(tmp_path)


def test_sme_import_names_the_meta_graph_tags_of_what_it_refuses(tmp_path):
    # The message goes through a rich console: tags written [serve] were read as markup and
    # vanished ("in MetaGraph :"); written ['serve'] they survive.
    from click.testing import CliRunner

    from savedmodel_estimator_tfx.pipelines.cli import main

    (hostile,) = [h for h in HOSTILE if h.kind is Kind.UNREGISTERED and not h.function]
    source = hostile.build(_mkdir(tmp_path / 'source'))
    result = CliRunner().invoke(main, ['import', str(source), '--out', str(tmp_path / 'model')])
    assert result.exit_code == 2
    assert (
        "MyCustomOp (node 'dnn/zero_fraction/cond/Identity' in MetaGraph ['serve']): no op of "
        'this type is registered' in ' '.join(result.output.split())
    )
    _assert_nothing_published(tmp_path)
