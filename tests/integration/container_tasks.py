"""One task of a compiled PipelineJob, run the way Vertex AI and KFP v2 run it, without Docker.

The orchestrator starts the task's container with the `command` and `args` of its executor in
the PipelineJob's deploymentSpec, `{{$}}` replaced by the ExecutorInput JSON: the task's
parameters (schema 2.0.0: `inputs.parameters` of typed values; schema 2.1.0:
`inputs.parameterValues` of plain JSON values), its input artifacts (uri, resource name,
metadata, type) and where its outputs and the ExecutorOutput file go. `run_task` builds that
JSON from the spec and local directories and runs the same command here, with this
environment's Python in place of the image's `python`.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

_RESOURCE = 'projects/123456789/locations/us-central1/metadataStores/default/artifacts/{}'
_names = iter(range(1, 1_000_000))


def _swap(value: Any, locations: Mapping[str, str]) -> Any:
    """A parameter naming cloud storage, pointed at the local directory standing in for it."""
    if isinstance(value, str):
        for remote, local in locations.items():
            if value.startswith(remote):
                return local + value[len(remote) :]
    return value


def _parameters(task: dict[str, Any], locations: Mapping[str, str]) -> dict[str, Any]:
    """The task's constant parameters in the ExecutorInput dialect of the spec's schema."""
    params = task.get('inputs', {}).get('parameters', {})
    legacy: dict[str, Any] = {}  # schema 2.0.0: {"intValue": "20"} / {"stringValue": "..."}
    values: dict[str, Any] = {}  # schema 2.1.0: plain JSON values
    for key, param in params.items():
        runtime = param['runtimeValue']
        if 'constantValue' in runtime:
            (kind, value), *_ = runtime['constantValue'].items()
            legacy[key] = {kind: _swap(value, locations)}
        else:
            values[key] = _swap(runtime['constant'], locations)
    return {'parameters': legacy} if legacy else {'parameterValues': values}


def runtime_artifact(uri: str, artifact_type: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A RuntimeArtifact as the orchestrator passes it: a resource name, uri, type, metadata."""
    return {
        'name': fields.pop('name', None) or _RESOURCE.format(next(_names)),
        'uri': uri,
        'type': artifact_type,
        'metadata': fields.pop('metadata', {}),
    }


def executor_input(
    job: dict[str, Any],
    task_name: str,
    inputs: Mapping[str, dict[str, Any]],
    work_dir: pathlib.Path,
    locations: Mapping[str, str],
) -> dict[str, Any]:
    """The ExecutorInput for `task_name`: `inputs` are `{key: ExecutorOutput artifact}`."""
    spec = job['pipelineSpec']
    component = spec['components'][spec['root']['dag']['tasks'][task_name]['componentRef']['name']]
    input_types = component.get('inputDefinitions', {}).get('artifacts', {})
    output_types = component['outputDefinitions']['artifacts']
    in_artifacts = {
        key: {
            'artifacts': [
                runtime_artifact(
                    art['uri'],
                    input_types[key]['artifactType'],
                    name=art.get('name'),
                    metadata=art.get('metadata', {}),
                )
            ]
        }
        for key, art in inputs.items()
    }
    out_artifacts = {}
    for key, definition in output_types.items():
        uri = work_dir / key
        # Cloud Storage has no directories to create; a local stand-in needs them, as the KFP
        # launcher makes them for mounted outputs.
        uri.mkdir(parents=True, exist_ok=True)
        out_artifacts[key] = {'artifacts': [runtime_artifact(str(uri), definition['artifactType'])]}
    task = spec['root']['dag']['tasks'][task_name]
    return {
        'inputs': {'artifacts': in_artifacts, **_parameters(task, locations)},
        'outputs': {
            'artifacts': out_artifacts,
            'outputFile': str(work_dir / 'executor_output.json'),
        },
    }


def command_line(job: dict[str, Any], task_name: str, invocation: dict[str, Any]) -> list[str]:
    """The container's command and args for the task, `{{$}}` filled in."""
    spec = job['pipelineSpec']
    component = spec['components'][spec['root']['dag']['tasks'][task_name]['componentRef']['name']]
    container = spec['deploymentSpec']['executors'][component['executorLabel']]['container']
    command = [sys.executable if c == 'python' else c for c in container['command']]
    args = [json.dumps(invocation) if a == '{{$}}' else a for a in container['args']]
    return command + args


def run_task(
    job: dict[str, Any],
    task_name: str,
    inputs: Mapping[str, dict[str, Any]],
    work_dir: pathlib.Path,
    locations: Mapping[str, str],
) -> dict[str, Any]:
    """Runs the task as its container would; returns the ExecutorOutput it wrote, as a dict."""
    work_dir.mkdir(parents=True, exist_ok=True)
    invocation = executor_input(job, task_name, inputs, work_dir, locations)
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'PYTHONWARNINGS': 'ignore'}
    result = subprocess.run(
        command_line(job, task_name, invocation),
        cwd=work_dir,  # not the repository: the packages come from the installed environment
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise AssertionError(
            f'{task_name} exited with {result.returncode}:\n{result.stderr[-4000:]}'
        )
    return json.loads((work_dir / 'executor_output.json').read_text())


def output_artifact(executor_output: dict[str, Any], key: str) -> dict[str, Any]:
    (artifact,) = executor_output['artifacts'][key]['artifacts']
    return artifact
