"""Reading a compiled PipelineJob: what its containers run, and its version-free form.

Shared by `sme compile`'s golden files, the tests and the image's build-time check
(`python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --check-imports SPEC`).
"""

from __future__ import annotations

import copy
from typing import Any

RUN_EXECUTOR_MODULE = 'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor'


def normalize(job: dict[str, Any]) -> dict[str, Any]:
    """The PipelineJob with the fields that change with the installed versions made constant."""
    job = copy.deepcopy(job)
    labels = job.get('labels', {})
    for key in ('tfx_version', 'tfx_py_version'):
        if key in labels:
            labels[key] = '<version>'
    spec = job.get('pipelineSpec', {})
    if str(spec.get('sdkVersion', '')).startswith('tfx-'):
        spec['sdkVersion'] = 'tfx-<version>'
    return job


def executor_class_paths(job: dict[str, Any]) -> dict[str, str]:
    """`{executor label: executor class path}` from a PipelineJob's deploymentSpec."""
    paths: dict[str, str] = {}
    for label, executor in job['pipelineSpec']['deploymentSpec']['executors'].items():
        args = executor['container']['args']
        paths[label] = args[args.index('--executor_class_path') + 1]
    return paths


def entry_point_modules(job: dict[str, Any]) -> set[str]:
    """Every module the containers run with `python -m`, drivers included."""
    modules: set[str] = set()
    for executor in job['pipelineSpec']['deploymentSpec']['executors'].values():
        container = executor['container']
        commands = [container['command']]
        commands += [hook['command'] for hook in container.get('lifecycle', {}).values()]
        modules.update(cmd[cmd.index('-m') + 1] for cmd in commands if '-m' in cmd)
    return modules


def check_imports(job: dict[str, Any]) -> list[str]:
    """What a container running `job` could not import: one line per problem, none if sound.

    Checks every executor class path (imported, a TFX executor) and every `python -m` module.
    Run in the image at build time, so a missing module fails the build, not the first task.
    """
    import importlib

    from tfx.dsl.components.base.base_executor import BaseExecutor

    problems = []
    for module in sorted(entry_point_modules(job)):
        try:
            importlib.import_module(module)
        except ImportError as err:
            problems.append(f'entry point module {module!r} does not import ({err})')
    for label, path in sorted(executor_class_paths(job).items()):
        module_name, _, class_name = path.rpartition('.')
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as err:
            problems.append(f'{label}: executor class {path!r} does not import ({err})')
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseExecutor)):
            problems.append(f'{label}: {path!r} is not a TFX executor class')
    return problems
