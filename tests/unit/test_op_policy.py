"""The reviewed op table: every op the running TensorFlow registers is in it, once, for a reason."""

from __future__ import annotations

import re

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from savedmodel_estimator.model_safety import op_policy, registry
from tests.support.paths import DATA

pytestmark = pytest.mark.core

BENIGN = sorted(DATA.glob('*/*/saved_model'))


def test_every_op_this_tensorflow_registers_is_reviewed():
    # Fails on a TensorFlow release that registers ops the table has not seen: read what each
    # kernel does and add it to an allowed category, or to a refused one with its reason.
    unreviewed = sorted(op for op in registry.raw_op_types() if op_policy.classify(op) is None)
    assert unreviewed == [], (
        f'TensorFlow {tf.__version__} registers {len(unreviewed)} op(s) that '
        f'savedmodel_estimator/model_safety/op_policy.py has not reviewed: {unreviewed}'
    )


def test_the_registry_view_is_the_whole_python_op_surface():
    ops = registry.raw_op_types()
    assert len(ops) > 1400  # 1,415 on TF 2.15, 1,436 on 2.16, 1,462 on 2.21
    assert {'ReadFile', 'MatMul', 'SaveV2', 'PyFunc'} <= ops
    assert not any(op.startswith('_') for op in ops)


def test_no_op_is_in_two_categories_and_no_allowed_op_matches_a_refused_family():
    seen: dict[str, str] = {}
    for category in op_policy.CATEGORIES:
        for op in category.names:
            assert op not in seen, f'{op} is in {seen[op]} and {category.name}'
            seen[op] = category.name
    for category in op_policy.ALLOWED:
        assert not category.pattern  # allowed ops are listed by name: nothing new slips in
        for refused in op_policy.REFUSED:
            clash = [
                op for op in category.names if refused.pattern and re.search(refused.pattern, op)
            ]
            assert clash == [], f'allowed {clash} match the refused family {refused.name}'


@pytest.mark.parametrize(
    ('op', 'category'),
    [
        ('ReadFile', 'files'),
        ('WriteFile', 'files'),
        ('MatchingFiles', 'files'),
        ('ImmutableConst', 'files'),
        ('InitializeTableFromTextFileV2', 'files'),
        ('TFRecordReaderV2', 'files'),
        ('SaveV2', 'checkpoints'),
        ('RestoreV2', 'checkpoints'),
        ('PyFunc', 'foreign_code'),
        ('EagerPyFunc', 'foreign_code'),
        ('WriteScalarSummary', 'summary_writers'),
        ('CreateSummaryFileWriter', 'summary_writers'),
        ('DebugIdentityV2', 'debug'),
        ('TFRecordDataset', 'datasets'),
        ('SomeFutureDataset', 'datasets'),  # a family member TensorFlow has not added yet
        ('CollectiveReduceV2', 'distributed'),
        ('RemoteCall', 'distributed'),
        ('Send', 'distributed'),
        ('XlaCallModule', 'accelerators'),
        ('TPUPartitionedCall', 'accelerators'),
        ('_Recv', 'internal'),
        ('Abort', 'process'),
        ('MatMul', 'computation'),
        ('VarHandleOp', 'state'),
        ('StatefulPartitionedCall', 'graph'),
        ('ParseExampleV2', 'parsing'),
    ],
)
def test_categories_of_ops_worth_knowing(op, category):
    found = op_policy.classify(op)
    assert found is not None
    assert found.name == category


def test_an_op_nobody_reviewed_has_no_category():
    assert op_policy.classify('MyCustomOp') is None


def test_every_op_of_the_benign_exports_is_allowed_or_a_saver_or_asset_op():
    # The exports' checkpoint ops and vocabulary reads are accepted in place (graph_scan.py,
    # saver_check.py); everything else they hold must be allowed by the table itself.
    in_place = {'SaveV2', 'RestoreV2', 'MergeV2Checkpoints', 'InitializeTableFromTextFileV2'}
    refused = set()
    for path in BENIGN:
        saved_model = saved_model_pb2.SavedModel.FromString((path / 'saved_model.pb').read_bytes())
        for meta_graph in saved_model.meta_graphs:
            graph = meta_graph.graph_def
            nodes = [*graph.node, *(n for f in graph.library.function for n in f.node_def)]
            library = {f.signature.name for f in graph.library.function}
            for node in nodes:
                category = op_policy.classify(node.op)
                if node.op not in library and not (category and category.allowed):
                    refused.add(node.op)
    assert len(BENIGN) >= 27
    assert refused <= in_place


def test_attribute_rules_are_for_allowed_ops():
    for op in op_policy.ATTRIBUTE_RULES:
        category = op_policy.classify(op)
        assert category is not None and category.allowed, op


def test_registration_is_checked_beyond_raw_ops():
    assert registry.is_registered('MatMul')
    assert registry.is_registered('_Arg')  # registered, but has no tf.raw_ops endpoint
    assert not registry.is_registered('MyCustomOp')
