"""Reading a pipeline run back from ML Metadata: each stage's latest execution and its artifacts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_STATE_NAMES = {v: k for k, v in metadata_store_pb2.Execution.State.items()}
_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


@dataclasses.dataclass
class StageRun:
    """One node's latest execution: its state and its artifacts by input/output key."""

    node_id: str
    execution: metadata_store_pb2.Execution
    inputs: dict[str, list[metadata_store_pb2.Artifact]]
    outputs: dict[str, list[metadata_store_pb2.Artifact]]

    @property
    def state(self) -> str:
        return _STATE_NAMES.get(self.execution.last_known_state, 'UNKNOWN')

    def output(self, key: str) -> metadata_store_pb2.Artifact | None:
        artifacts = self.outputs.get(key) or []
        return artifacts[0] if artifacts else None


def open_store(connection_config: Any) -> metadata_store.MetadataStore:
    return metadata_store.MetadataStore(connection_config)


def _event_key(event: metadata_store_pb2.Event) -> str:
    steps = [s.key for s in event.path.steps if s.HasField('key')]
    return steps[0] if steps else ''


def latest_stage_run(
    store: metadata_store.MetadataStore, pipeline_name: str, node_id: str
) -> StageRun | None:
    """The most recent execution of `node_id` in `pipeline_name`, with its artifacts, or None."""
    context = store.get_context_by_type_and_name('node', f'{pipeline_name}.{node_id}')
    if context is None:
        return None
    executions = store.get_executions_by_context(context.id)
    if not executions:
        return None
    execution = max(executions, key=lambda e: (e.create_time_since_epoch, e.id))
    events = store.get_events_by_execution_ids([execution.id])
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    inputs: dict[str, list[Any]] = {}
    outputs: dict[str, list[Any]] = {}
    for event in events:
        target = (
            outputs
            if event.type in _OUTPUT_EVENTS
            else inputs
            if event.type in _INPUT_EVENTS
            else None
        )
        if target is not None and event.artifact_id in artifacts:
            target.setdefault(_event_key(event), []).append(artifacts[event.artifact_id])
    return StageRun(node_id, execution, inputs, outputs)


def custom_property(artifact: metadata_store_pb2.Artifact, name: str) -> Any:
    """An artifact's custom property as a Python value, or None."""
    if name not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[name]
    kind = value.WhichOneof('value')
    return getattr(value, kind) if kind else None


def run_stage_states(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    node_ids: Sequence[str],
    started_ms: int,
) -> dict[str, str]:
    """Each node's state in the pipeline run that began at or after `started_ms`.

    The run is the earliest `pipeline_run` context of the pipeline created since then (TFX's
    local runner makes one per run); a node without an execution in it is 'NOT RUN'. Unlike
    `latest_stage_run`, this never reads another run's executions as this run's.
    """
    pipeline = store.get_context_by_type_and_name('pipeline', pipeline_name)
    runs = []
    if pipeline is not None:
        run_type = store.get_context_type('pipeline_run').id
        runs = [
            c
            for c in store.get_children_contexts_by_context(pipeline.id)
            if c.type_id == run_type and c.create_time_since_epoch >= started_ms
        ]
    if not runs:
        return {node_id: 'NOT RUN' for node_id in node_ids}
    run = min(runs, key=lambda c: (c.create_time_since_epoch, c.id))
    in_run = {e.id: e for e in store.get_executions_by_context(run.id)}
    states = {}
    for node_id in node_ids:
        context = store.get_context_by_type_and_name('node', f'{pipeline_name}.{node_id}')
        ids = [] if context is None else [e.id for e in store.get_executions_by_context(context.id)]
        mine = [in_run[i] for i in ids if i in in_run]
        latest = max(mine, key=lambda e: (e.create_time_since_epoch, e.id)) if mine else None
        states[node_id] = (
            _STATE_NAMES.get(latest.last_known_state, 'UNKNOWN') if latest else 'NOT RUN'
        )
    return states
