"""Hostile savers: checkpoint ops that are not exactly the MetaGraph's saver, each refused.

Loading a SavedModel runs its saver's restore op and everything that op depends on, so the scan
trusts a checkpoint op only when the saver, read as a whole, is what a saver builds
(savedmodel_estimator/model_safety/saver_check.py). `SAVER_HOSTILE` joins `HOSTILE` in
tests/integration/test_saved_model_importer.py.
"""

from __future__ import annotations

import pathlib

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.model_safety.findings import Kind
from savedmodel_estimator.model_safety.scan import scan_saved_model
from tests.support.paths import SEED_SAVED_MODEL
from tests.unit.test_hostile_models import (
    Hostile,
    add_const,
    edit_copy,
    export_graph,
    matching,
    node,
)

pytestmark = pytest.mark.core


def restore_prefix_from_a_file(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        add_const(mg.graph_def, 'save/where', b'/etc/hostname')
        mg.graph_def.node.add(name='save/ReadFile', op='ReadFile', input=['save/where'])
        node(mg, 'save/RestoreV2').input[0] = 'save/ReadFile'

    return edit_copy(SEED_SAVED_MODEL, tmp_path / 'hostile', 'train', edit)


def saver_filename_from_a_file(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        add_const(mg.graph_def, 'save/where', b'/etc/hostname')
        mg.graph_def.node.add(name='save/ReadFile', op='ReadFile', input=['save/where'])
        mg.saver_def.filename_tensor_name = 'save/ReadFile:0'
        node(mg, 'save/RestoreV2').input[0] = 'save/ReadFile'

    return edit_copy(SEED_SAVED_MODEL, tmp_path / 'hostile', 'train', edit)


def saver_scope_restore_not_the_savers(tmp_path: pathlib.Path) -> pathlib.Path:
    def build() -> dict[str, tf.Tensor]:
        restored = tf.raw_ops.RestoreV2(
            prefix='/tmp/elsewhere',
            tensor_names=['t'],
            shape_and_slices=[''],
            dtypes=[tf.float32],
            name='save/RestoreV2_99',
        )
        return {'y': restored[0]}

    return export_graph(tmp_path / 'export', build)


def saver_restore_runs_a_write(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        add_const(mg.graph_def, 'save/leak/path', str(tmp_path / 'leak').encode())
        add_const(mg.graph_def, 'save/leak/contents', b'x')
        mg.graph_def.node.add(
            name='save/leak', op='WriteFile', input=['save/leak/path', 'save/leak/contents']
        )
        node(mg, 'save/restore_all').input.append('^save/leak')

    return edit_copy(SEED_SAVED_MODEL, tmp_path / 'hostile', 'eval', edit)


def saver_writes_outside_its_file(tmp_path: pathlib.Path) -> pathlib.Path:
    def edit(mg: meta_graph_pb2.MetaGraphDef) -> None:
        node(mg, 'save/StringJoin').attr['separator'].s = b'/../../../../tmp/elsewhere/'

    return edit_copy(SEED_SAVED_MODEL, tmp_path / 'hostile', 'train', edit)


SAVER_HOSTILE = [
    Hostile(
        'restore op whose prefix is read from a file',
        restore_prefix_from_a_file,
        Kind.SAVER,
        'RestoreV2',
        'save/RestoreV2',
        ('train',),
        r"^RestoreV2 \(node 'save/RestoreV2' in MetaGraph \['train'\]\): reads 'save/ReadFile', "
        r'not the filename tensor; expected only what a saver builds',
    ),
    Hostile(
        'saver_def filename tensor read from a file',
        saver_filename_from_a_file,
        Kind.SAVER,
        'ReadFile',
        'save/ReadFile',
        ('train',),
        r"is the saver_def's filename tensor, but not a constant file name",
    ),
    Hostile(
        "checkpoint op in the saver's scope, not the saver's",
        saver_scope_restore_not_the_savers,
        Kind.SAVER,
        'RestoreV2',
        'save/RestoreV2_99',
        ('serve',),
        r"reads or writes checkpoints; only the MetaGraph's saver may, and is not part of the "
        r"MetaGraph saver \(saver_def restore op 'save/restore_all'\)",
    ),
    Hostile(
        "file write wired into the saver's restore op",
        saver_restore_runs_a_write,
        Kind.SAVER,
        'WriteFile',
        'save/leak',
        ('eval',),
        r"^WriteFile \(node 'save/leak' in MetaGraph \['eval'\]\): is run by the saver restore "
        r'op, at every load',
    ),
    Hostile(
        'save path climbing out of the checkpoint',
        saver_writes_outside_its_file,
        Kind.SAVER,
        'SaveV2',
        'save/SaveV2',
        ('train',),
        r"writes a name not made from the saver's filename",
    ),
]


@pytest.mark.parametrize('hostile', SAVER_HOSTILE, ids=lambda h: h.build.__name__)
def test_each_hostile_saver_is_refused_naming_what_where_and_what_was_expected(tmp_path, hostile):
    findings = scan_saved_model(hostile.build(tmp_path))
    assert matching(findings, hostile), '\n'.join(map(str, findings))


@pytest.mark.parametrize('hostile', SAVER_HOSTILE, ids=lambda h: h.build.__name__)
def test_allowing_the_op_type_by_name_accepts_that_saver_finding(tmp_path, hostile):
    path = hostile.build(tmp_path)
    assert not matching(scan_saved_model(path, allowed=[hostile.op_type]), hostile)


def test_one_bad_restore_prefix_is_one_saver_finding_not_one_per_variable(tmp_path):
    findings = scan_saved_model(restore_prefix_from_a_file(tmp_path))
    assert sorted((f.op_type, f.node_name) for f in findings) == [
        ('ReadFile', 'save/ReadFile'),  # run by the restore op
        ('ReadFile', 'save/ReadFile'),  # a file read that is not an asset's
        ('RestoreV2', 'save/RestoreV2'),
    ]
