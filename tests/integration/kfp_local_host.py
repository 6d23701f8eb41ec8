"""kfp's own local runner, `kfp.local`, running the native kfp pipeline on this host.

Since kfp 2.7, kfp.local runs whole compiled pipelines: importers, artifacts passed from task to
task, nested DAGs, every placeholder resolved by kfp itself. Three things keep it from running
this pipeline on a machine without a Docker engine (read in kfp 2.16.1, under `kfp/local/`):

1. `SubprocessRunner` refuses container components: `SubprocessTaskHandler.
   validate_not_container_component` in `subprocess_task_handler.py` raises "The
   SubprocessRunner only supports running Lightweight Python Components. You are attempting to
   run a Container Component." Only `DockerRunner` runs them, and it needs a Docker engine.
   Lifted here, as kfp's own tests lift it (`TestFstringContainerComponent` in
   `pipeline_orchestrator_test.py`): the container's command runs on this host, with this venv's
   `sme` first on PATH where the image has its own.
2. It takes a task's output artifacts only from the ExecutorOutput file the task writes
   (`get_outputs_from_executor_output` in `executor_output_utils.py`). kfp's Python executor
   writes one; `sme` knows nothing of kfp and writes none, so the next task fails with "Tried to
   get output 'model' from task 'import-model', but task 'import-model' not found." (under
   DockerRunner too). kfp's launcher on a cluster records every output artifact of the
   ExecutorInput and merges the ExecutorOutput into them (`uploadOutputArtifacts` in
   `backend/src/v2/component/launcher_v2.go`); done here the same way.
3. It skips every `dsl.If` branch: `ConditionEvaluator.evaluate_condition` in
   `orchestrator/enhanced_dag_orchestrator.py` substitutes values into the compiled condition
   (`inputs.parameter_values['pipelinechannel--classifier'] == true`) and `eval`s it as Python,
   which fails ("name 'inputs' is not defined"), and the branch is skipped with a warning while
   the run still ends in SUCCESS. `without_conditions` takes the conditions out of the spec; the
   test checks that the run's own values satisfy them.

test_kfp_native.py has a canary for each: it fails once kfp.local changes, saying what to drop.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import io
import os
import pathlib
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.integration.kfp_task_run import TaskRun

# kfp 2.7 added local runs of pipelines (kubeflow/pipelines#10423) and of dsl.importer (#10431).
RUNS_PIPELINES = importlib.util.find_spec('kfp.local.pipeline_orchestrator') is not None
BIN = pathlib.Path(sys.executable).parent
_ANSI = re.compile(r'\x1b\[[0-9;]*m')
_TASK_START = re.compile(r"^\S+ - INFO - Executing task '([^']+)'$", re.MULTILINE)


@dataclasses.dataclass
class LocalRun:
    """What kfp.local printed (it logs to stdout; uncoloured here) and each task's outputs."""

    log: str = ''
    outputs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def tasks(self) -> dict[str, TaskRun]:
        """Each task that kfp.local started, by its name (e.g. 'import-model')."""
        from kfp import dsl

        starts = list(_TASK_START.finditer(self.log))
        bounds = [start.start() for start in starts] + [len(self.log)]
        runs = {}
        for number, start in enumerate(starts):
            name = start.group(1)
            text = self.log[bounds[number] : bounds[number + 1]]
            # kfp indents what a task prints by 4 spaces.
            text = re.sub(r'^ {4}', '', text, flags=re.MULTILINE)
            outputs = self.outputs.get(name, {})
            artifacts = {k: v for k, v in outputs.items() if isinstance(v, dsl.Artifact)}
            runs[name] = TaskRun(
                outputs={k: a.uri for k, a in artifacts.items()},
                parameters={k: v for k, v in outputs.items() if k not in artifacts},
                metadata={k: a.metadata for k, a in artifacts.items()},
                returncode=0 if f"Task '{name}' finished with status SUCCESS" in text else 1,
                log=text,
            )
        return runs


@contextlib.contextmanager
def on_this_host(
    pipeline_root: pathlib.Path, run_containers: bool = True, record_outputs: bool = True
) -> Iterator[LocalRun]:
    """A kfp.local session with `SubprocessRunner` in this venv, capturing what kfp prints.

    Args:
        pipeline_root: Where kfp.local writes the tasks' outputs.
        run_containers: Run container components' commands on this host (1. above).
        record_outputs: Record output artifacts as kfp's launcher does (2. above).
    """
    from kfp import local
    from kfp.local import executor_output_utils, subprocess_task_handler

    run = LocalRun()
    get_outputs_for_task = executor_output_utils.get_outputs_for_task

    def outputs_as_the_launcher_records_them(executor_input, component_spec):
        outputs = get_outputs_for_task(executor_input=executor_input, component_spec=component_spec)
        for name, artifacts in executor_input.outputs.artifacts.items():
            if record_outputs and name not in outputs:
                outputs[name] = executor_output_utils.artifact_list_to_dsl_artifact(
                    artifacts, is_artifact_list=False
                )
        # The ExecutorOutput file is <pipeline root>/<run>/<task>/executor_output.json.
        run.outputs[pathlib.Path(executor_input.outputs.output_file).parent.name] = outputs
        return outputs

    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # The image has no 'python' in its name, and kfp suggests DockerRunner: there is no engine.
        warnings.filterwarnings('ignore', 'You may be attemping to run', RuntimeWarning)
        patch.setattr(
            executor_output_utils, 'get_outputs_for_task', outputs_as_the_launcher_records_them
        )
        if run_containers:
            patch.setattr(
                subprocess_task_handler.SubprocessTaskHandler,
                'validate_not_container_component',
                lambda self, full_command: None,
            )
        patch.setenv('PATH', f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}')
        patch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(pipeline_root),
            raise_on_error=False,
        )
        try:
            with contextlib.redirect_stdout(buffer):
                yield run
        finally:
            local.config.LocalExecutionConfig.instance = None
            run.log = _ANSI.sub('', buffer.getvalue())


def without_conditions(spec: dict) -> tuple[dict, dict[str, str]]:
    """A copy of a compiled pipeline without its `dsl.If` conditions, and the conditions by task."""
    spec = copy.deepcopy(spec)
    removed = {}
    for component in [spec['root'], *spec['components'].values()]:
        for name, task in component.get('dag', {}).get('tasks', {}).items():
            condition = task.get('triggerPolicy', {}).pop('condition', None)
            if condition is not None:
                removed[name] = condition
    return spec, removed


def run_compiled(spec: dict, arguments: dict[str, Any], pipeline_root: pathlib.Path) -> LocalRun:
    """Runs a compiled pipeline (a PipelineSpec as a dict) with kfp.local on this host."""
    from kfp import components

    pipeline = components.load_component_from_text(yaml.safe_dump(spec))
    with on_this_host(pipeline_root) as run:
        pipeline(**arguments)
    return run


def run_component(component: Any, inputs: dict[str, Any], pipeline_root: pathlib.Path) -> TaskRun:
    """Runs one component with kfp.local, each `pathlib.Path` input brought in by a dsl.importer.

    kfp.local runs no component with an input artifact on its own, only inside a pipeline.
    """
    from kfp import dsl

    classes = {c.schema_title: c for c in (dsl.Artifact, dsl.Dataset, dsl.Model)}

    @dsl.pipeline(name='one-task')
    def one_task():
        arguments = dict(inputs)
        for name, value in inputs.items():
            if isinstance(value, pathlib.Path):
                schema = component.component_spec.inputs[name].type.split('@')[0]
                importer = dsl.importer(artifact_uri=str(value), artifact_class=classes[schema])
                arguments[name] = importer.output
        component(**arguments)

    with on_this_host(pipeline_root) as run:
        one_task()
    return run.tasks[component.name]
