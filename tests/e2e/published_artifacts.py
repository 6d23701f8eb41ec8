"""What ML Metadata may hold after crashes and failures: whole artifacts only, from finished executions.

An artifact is published when ML Metadata records it LIVE, as the output of an execution. After a
killed or failed run, an execution that did not finish (RUNNING, FAILED) must have no LIVE output,
and every LIVE artifact must be complete on disk, in the layout its type promises.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

FINISHED = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


def _has_files(directory: pathlib.Path) -> bool:
    return directory.is_dir() and any(p.is_file() for p in directory.rglob('*'))


def _model(uri: pathlib.Path) -> bool:
    saved = uri / 'Format-Serving'
    return (saved / 'saved_model.pb').is_file() and (
        saved / 'variables' / 'variables.index'
    ).is_file()


def _inference(uri: pathlib.Path, artifact: metadata_store_pb2.Artifact) -> bool:
    return 'skipped_reason' in artifact.custom_properties or _has_files(uri)


# Per artifact type: does the directory hold what the type promises?
COMPLETE: dict[str, Callable[[pathlib.Path, metadata_store_pb2.Artifact], bool]] = {
    'Examples': lambda uri, _: _has_files(uri / 'Split-train') and _has_files(uri / 'Split-eval'),
    'Model': lambda uri, _: _model(uri),
    'ModelRun': lambda uri, _: tf.train.latest_checkpoint(str(uri)) is not None,
    'ModelEvaluation': lambda uri, _: (uri / 'metrics.json').is_file(),
    'ModelBlessing': lambda uri, _: (uri / 'BLESSED').is_file() or (uri / 'NOT_BLESSED').is_file(),
    'InferenceResult': _inference,
}


def unfinished_executions(
    store: metadata_store.MetadataStore,
) -> list[metadata_store_pb2.Execution]:
    return [e for e in store.get_executions() if e.last_known_state not in FINISHED]


def assert_unfinished_executions_published_nothing(store: metadata_store.MetadataStore) -> None:
    for execution in unfinished_executions(store):
        events = store.get_events_by_execution_ids([execution.id])
        outputs = [e.artifact_id for e in events if e.type in OUTPUT_EVENTS]
        live = [
            a
            for a in store.get_artifacts_by_id(outputs)
            if a.state == metadata_store_pb2.Artifact.LIVE
        ]
        assert not live, (
            f'execution {execution.id} ended in state {execution.last_known_state} but published '
            f'{[a.uri for a in live]}'
        )


def assert_live_artifacts_are_complete(store: metadata_store.MetadataStore) -> int:
    """Checks every LIVE artifact's directory; returns how many were checked."""
    types = {t.id: t.name for t in store.get_artifact_types()}
    checked = 0
    for artifact in store.get_artifacts():
        if artifact.state != metadata_store_pb2.Artifact.LIVE:
            continue
        kind = types[artifact.type_id]
        assert kind in COMPLETE, f'no completeness check for artifact type {kind}'
        assert COMPLETE[kind](pathlib.Path(artifact.uri), artifact), (
            f'LIVE {kind} artifact {artifact.id} at {artifact.uri} is incomplete'
        )
        checked += 1
    return checked


def assert_no_unpublished_output_dirs(
    store: metadata_store.MetadataStore, pipeline_root: pathlib.Path
) -> None:
    """Every `<pipeline_root>/<node>/<key>/<execution id>` directory is a LIVE artifact's."""
    live = {
        str(pathlib.Path(a.uri))
        for a in store.get_artifacts()
        if a.state == metadata_store_pb2.Artifact.LIVE
    }
    on_disk = {
        str(path)
        for path in pipeline_root.glob('*/*/*')
        if path.is_dir()
        and not path.parts[-3].startswith('.')
        and path.parts[-2] != '.system'
        and path.parts[-3] != 'checkpoints'
    }
    assert on_disk <= live, f'output directories no artifact was published for: {on_disk - live}'
