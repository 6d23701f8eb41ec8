"""Settling what a killed run left behind: executions still RUNNING, half-filled output directories.

A run killed by SIGKILL, Ctrl-C, a lost server or a power cut publishes nothing: TFX records an
execution's outputs only once it completes. But the execution stays RUNNING in ML Metadata for
ever, and the output directories TFX made for it (`<pipeline_root>/<node>/<key>/<execution id>`)
stay on disk, empty or half-written. The next run, holding the output directory's lock (so no
other run can be using them), marks such executions CANCELED, saying why, and removes their
output directories. Executions whose directories are not under this run's pipeline root are left
alone: on a shared MySQL store they may belong to a live run elsewhere.
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

ABANDONED_PROPERTY = 'abandoned'
_ACTIVE = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)
_REASON = (
    'the run that started this execution ended before it finished (killed, interrupted or lost); '
    'a later run on the same output directory cancelled it and removed its output directories'
)


@dataclasses.dataclass(frozen=True)
class Abandoned:
    """An execution a killed run left active, now CANCELED, and the directories removed."""

    node_id: str
    execution_id: int
    removed: tuple[str, ...]

    def describe(self) -> str:
        return (
            f'{self.node_id} execution {self.execution_id} of an earlier run that did not finish: '
            f'cancelled; removed {len(self.removed)} unpublished output directories'
        )


def _output_dirs(pipeline_root: str, node_id: str, execution_id: int) -> list[str]:
    node_dir = os.path.join(pipeline_root, node_id)
    if not tf.io.gfile.isdir(node_dir):
        return []
    keys = [k.rstrip('/') for k in tf.io.gfile.listdir(node_dir) if not k.startswith('.')]
    candidates = [os.path.join(node_dir, key, str(execution_id)) for key in keys]
    return [path for path in candidates if tf.io.gfile.isdir(path)]


def settle(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    pipeline_root: str,
    *,
    store_is_private: bool,
) -> list[Abandoned]:
    """Cancels the pipeline's active executions and removes their output directories.

    Call only while holding the output directory's lock (`run_lock`): then no execution
    writing under `pipeline_root` can be alive.

    Args:
        store: The pipeline's ML Metadata store.
        pipeline_name: The pipeline.
        pipeline_root: This run's pipeline root (absolute, local).
        store_is_private: The store belongs to this output directory alone (SQLite in it), so
            every active execution in it is abandoned, even one killed before it made
            directories.
    """
    if not any(t.name == 'node' for t in store.get_context_types()):
        return []  # a new store: nothing ran yet
    prefix = f'{pipeline_name}.'
    settled = []
    for context in store.get_contexts_by_type('node'):
        if not context.name.startswith(prefix):
            continue
        node_id = context.name[len(prefix) :]
        for execution in store.get_executions_by_context(context.id):
            if execution.last_known_state not in _ACTIVE:
                continue
            directories = _output_dirs(pipeline_root, node_id, execution.id)
            if not directories and not store_is_private:
                continue  # perhaps another output directory's live run: not ours to judge
            for directory in directories:
                tf.io.gfile.rmtree(directory)
            execution.last_known_state = metadata_store_pb2.Execution.CANCELED
            execution.custom_properties[ABANDONED_PROPERTY].string_value = _REASON
            store.put_executions([execution])
            settled.append(Abandoned(node_id, execution.id, tuple(directories)))
    return settled
