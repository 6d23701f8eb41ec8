"""A hand-written stand-in for kfp's launcher: one compiled task's command, run here.

Only for kfp releases whose `kfp.local` runs no pipelines (before kfp 2.7, e.g. the legacy lane's
kfp 2.5): there, kfp.local runs single lightweight Python components only, and none that takes an
input artifact, and every component of the native pipeline takes one. Where kfp.local runs
pipelines, `kfp_local_host` runs them with it instead.

`Launcher` does the launcher's part: it builds the ExecutorInput from the compiled component's
interface, puts local directories where the launcher puts the artifacts' local paths (`/gcs/...`
on a cluster), resolves the placeholders, and runs the command, with this venv's `sme` for the
image's `sme` and its `python` for the image's `python3`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

from tests.integration.kfp_task_run import TaskRun

BIN = pathlib.Path(sys.executable).parent
_PLACEHOLDER = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(artifacts|parameters)\['([^']+)'\](\.path)?\}\}"
)


class Launcher:
    """Runs one executor of a compiled pipeline on local directories, as kfp's launcher would."""

    def __init__(self, spec: dict, root: pathlib.Path) -> None:
        self.spec = spec
        self.root = root
        self._runs = 0

    def run(self, task: str, inputs: dict[str, Any]) -> TaskRun:
        """Runs the executor of task `task` (e.g. 'import-model') on `inputs` (paths, values)."""
        component = self.spec['components'][f'comp-{task}']
        executor = self.spec['deploymentSpec']['executors'][component['executorLabel']]
        container = executor['container']
        self._runs += 1
        executor_input = self._executor_input(task, component, inputs)
        command = []
        for part in container['command'] + container.get('args', []):
            command += self._resolve(part, executor_input)
        if command[0] == 'sme':
            command[0] = str(BIN / 'sme')
        command = [part.replace('python3 -m', f'{BIN / "python"} -m') for part in command]
        env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=self.root)
        output_file = pathlib.Path(executor_input['outputs']['outputFile'])
        executor_output = json.loads(output_file.read_text()) if output_file.exists() else {}
        return TaskRun(
            outputs={
                name: spec['artifacts'][0]['uri']
                for name, spec in executor_input['outputs']['artifacts'].items()
            },
            parameters=executor_output.get('parameterValues', {}),
            metadata={
                name: spec['artifacts'][0].get('metadata', {})
                for name, spec in executor_output.get('artifacts', {}).items()
            },
            returncode=done.returncode,
            log=f'{done.stdout}\n{done.stderr}',
        )

    def run_ok(self, task: str, inputs: dict[str, Any]) -> TaskRun:
        launched = self.run(task, inputs)
        assert launched.returncode == 0, f'{task} failed:\n{launched.log}'
        return launched

    def _executor_input(self, task: str, component: dict, inputs: dict) -> dict:
        task_root = self.root / f'{self._runs}-{task}'
        definitions = component.get('inputDefinitions', {})
        parameters, artifacts = {}, {}
        for name, definition in definitions.get('parameters', {}).items():
            if name in inputs or 'defaultValue' in definition:
                value = inputs.get(name, definition.get('defaultValue'))
                # Protobuf numbers are floats: the launcher gives integer parameters as integers.
                integer = definition['parameterType'] == 'NUMBER_INTEGER'
                parameters[name] = int(value) if integer else value
            elif not definition.get('isOptional'):
                raise TypeError(f'{task}() missing 1 required argument: {name!r}.')
        for name, definition in definitions.get('artifacts', {}).items():
            if name in inputs:
                artifacts[name] = {'artifacts': [_artifact(name, definition, str(inputs[name]))]}
            elif not definition.get('isOptional'):
                raise TypeError(f'{task}() missing 1 required argument: {name!r}.')
        outputs = component.get('outputDefinitions', {})
        output_artifacts = {}
        for name, definition in outputs.get('artifacts', {}).items():
            # The launcher makes an output's parent directory; the component makes the output.
            (task_root / name).parent.mkdir(parents=True, exist_ok=True)
            output_artifacts[name] = {'artifacts': [_artifact(name, definition, task_root / name)]}
        return {
            'inputs': {'parameterValues': parameters, 'artifacts': artifacts},
            'outputs': {
                'artifacts': output_artifacts,
                'parameters': {
                    name: {'outputFile': str(task_root / 'parameters' / name)}
                    for name in outputs.get('parameters', {})
                },
                'outputFile': str(task_root / 'executor_output.json'),
            },
        }

    def _resolve(self, part: Any, executor_input: dict) -> list[str]:
        """One command element: a placeholder string, or kfp's IfPresent / Concat structure."""
        if isinstance(part, str) and part.startswith(('{"IfPresent"', '{"Concat"')):
            part = json.loads(part)
        if isinstance(part, dict) and 'IfPresent' in part:
            condition = part['IfPresent']
            inputs = executor_input['inputs']
            present = condition['InputName'] in {**inputs['parameterValues'], **inputs['artifacts']}
            branch = condition.get('Then' if present else 'Else', [])
            branch = branch if isinstance(branch, list) else [branch]
            return [text for item in branch for text in self._resolve(item, executor_input)]
        if isinstance(part, dict) and 'Concat' in part:
            return [
                ''.join(t for item in part['Concat'] for t in self._resolve(item, executor_input))
            ]
        return [
            _PLACEHOLDER.sub(
                lambda m: _value(m, executor_input),
                part.replace('{{$}}', json.dumps(executor_input)),
            )
        ]


def _artifact(name: str, definition: dict, uri: Any) -> dict:
    return {'name': name, 'type': definition['artifactType'], 'uri': str(uri), 'metadata': {}}


def _value(match: re.Match, executor_input: dict) -> str:
    side, kind, name, _ = match.groups()
    if kind == 'artifacts':
        # A local URI is its own path (on a cluster: gs://b/x -> /gcs/b/x).
        return executor_input[side]['artifacts'][name]['artifacts'][0]['uri']
    value = executor_input['inputs']['parameterValues'][name]
    return value if isinstance(value, str) else json.dumps(value)
