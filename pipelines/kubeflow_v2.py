"""The pipeline compiled for Vertex AI Pipelines and Kubeflow Pipelines v2.

TFX's KubeflowV2DagRunner turns the pipeline `definition` builds into a PipelineJob:
one task per component, each running the image given here with TFX's in-container entry point,
`python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor
--executor_class_path savedmodel_estimator_tfx.components.<name>.executor.Executor --json_serialized_invocation_args
{{$}} <beam args>`, where `{{$}}` is the ExecutorInput JSON the orchestrator fills in.

What differs by target:

| | `vertex` | `kubeflow` |
|---|---|---|
| pipeline root, `saved_model`, `data` | `gs://` only: the only storage Vertex containers reach by default | any URI (`gs://`, `s3://`, `minio://`) or an absolute path on a volume the pods mount |
| pipeline spec schema | 2.0.0 (TFX's default; Vertex binds `runtimeConfig.parameters`) | 2.1.0 (`parameterValues`, `runtimeValue.constant`: the fields the KFP v2 backend reads) |
| `--out x.json` | the PipelineJob: `aiplatform.PipelineJob(template_path=...)` | the same PipelineJob JSON |
| `--out x.yaml` | the PipelineSpec alone | the PipelineSpec alone: what `kfp.Client` and the KFP UI upload |

The golden specs in `pipelines/golden/` are this module's output for `golden_config()`; rebuild
them with `python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --regenerate-golden` and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import tempfile
from collections.abc import Sequence
from typing import Any

from savedmodel_estimator_tfx.pipelines.compiled_spec import check_imports, normalize
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig

PIPELINE_NAME_PATTERN = '[a-z0-9][a-z0-9-]{0,127}'
SPEC_SUFFIXES = ('.json', '.yaml', '.yml')


@dataclasses.dataclass(frozen=True)
class Target:
    """An orchestrator the compiled spec is for."""

    name: str
    schema_2_1: bool
    # URI prefixes the pipeline root and the inputs must have; None: any URI or absolute path.
    storage: tuple[str, ...] | None


TARGETS = {
    'vertex': Target('vertex', schema_2_1=False, storage=('gs://',)),
    'kubeflow': Target('kubeflow', schema_2_1=True, storage=None),
}


class CompileError(ValueError):
    """A setting the compiled pipeline cannot run with; carries what was expected and found."""

    def __init__(self, message: str, *, key: str, expected: str, found: object) -> None:
        super().__init__(message)
        self.key, self.expected, self.found = key, expected, found


def _check_location(target: Target, key: str, value: str, fix: str) -> None:
    if target.storage is not None:
        if not value.startswith(target.storage):
            expected = ' or '.join(f'{prefix}BUCKET/PATH' for prefix in target.storage)
            raise CompileError(
                f'{key} {value!r} cannot be used on {target.name}: its tasks run in containers '
                f'that read and write Cloud Storage, not this machine. Expected {expected}; '
                f'{fix}.',
                key=key,
                expected=expected,
                found=value,
            )
    elif '://' not in value and not os.path.isabs(value):
        raise CompileError(
            f"{key} {value!r} is a relative path, which means nothing inside the pipeline's "
            'containers. Expected a URI (gs://, s3://, minio://) or an absolute path on a '
            'volume the pods mount.',
            key=key,
            expected='a URI or an absolute path',
            found=value,
        )


def _data_format(config: PipelineConfig) -> str:
    """The data format, decided now: the containers cannot look at the data when compiling."""
    if config.data_format != 'auto':
        return config.data_format
    if '://' in config.data or not os.path.isdir(config.data):
        raise CompileError(
            f"data_format 'auto' cannot be resolved at compile time: data {config.data!r} is not "
            "a directory on this machine. Set data_format to 'csv' or 'tfrecord' "
            '(--data-format, or in the config).',
            key='data_format',
            expected="'csv' or 'tfrecord'",
            found=config.data_format,
        )
    return config.resolved_data_format


def validate(
    config: PipelineConfig, target: str, image: str, pipeline_root: str
) -> tuple[Target, PipelineConfig]:
    """Checks what the compiled spec needs; returns the target and the config with its format.

    Raises:
        CompileError: naming the setting, what the target expects and what was given.
    """
    if target not in TARGETS:
        raise CompileError(
            f'target {target!r} is not one of {sorted(TARGETS)}.',
            key='target',
            expected=' or '.join(TARGETS),
            found=target,
        )
    if not re.fullmatch(PIPELINE_NAME_PATTERN, config.pipeline_name):
        suggestion = re.sub(r'[^a-z0-9-]+', '-', config.pipeline_name.lower()).strip('-')[:128]
        raise CompileError(
            f'pipeline name {config.pipeline_name!r} is not valid for Vertex AI and Kubeflow: it '
            f'must match {PIPELINE_NAME_PATTERN} (lowercase letters, digits and hyphens, first a '
            f'letter or digit, at most 128 characters). Try {suggestion or "sme-pipeline"!r}.',
            key='pipeline_name',
            expected=PIPELINE_NAME_PATTERN,
            found=config.pipeline_name,
        )
    if not image or any(c.isspace() for c in image):
        raise CompileError(
            f'image {image!r} is not a container image reference; expected e.g. '
            'REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG.',
            key='image',
            expected='REGISTRY/PATH:TAG',
            found=image,
        )
    spec = TARGETS[target]
    _check_location(spec, 'pipeline root', pipeline_root, 'pass one with --pipeline-root')
    copy = 'copy the files there (e.g. gsutil cp -r) and pass that'
    _check_location(spec, 'saved_model', config.saved_model, copy)
    _check_location(spec, 'data', config.data, copy)
    return spec, config.replace(data_format=_data_format(config))


def compile_pipeline(
    config: PipelineConfig,
    target: str,
    image: str,
    out: str | os.PathLike[str] | None,
    pipeline_root: str | None = None,
    beam_pipeline_args: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Compiles the pipeline for `target` and writes it to `out` (unless None).

    Args:
        config: The pipeline's settings; `saved_model` and `data` must be reachable from the
            target's containers.
        target: 'vertex' or 'kubeflow' (see the module docstring for what differs).
        image: The image every task runs, built from this repository's Dockerfile.
        out: A local `.json` file for the PipelineJob, or `.yaml` / `.yml` for the PipelineSpec
            alone. Written atomically: a reader never sees a half-written file.
        pipeline_root: Where the tasks write their artifacts; default
            `<config.output_dir>/pipeline_root`.
        beam_pipeline_args: Passed to every task's Beam pipelines; default the config's.

    Returns:
        The PipelineJob as a JSON dict.

    Raises:
        CompileError: a setting the target cannot run with, before anything is compiled.
    """
    root = (pipeline_root or config.output_dir.rstrip('/') + '/pipeline_root').rstrip('/')
    spec, config = validate(config, target, image, root)
    if out is not None and not str(out).endswith(SPEC_SUFFIXES):
        raise CompileError(
            f'out {str(out)!r} must end with .json (PipelineJob) or .yaml (PipelineSpec).',
            key='out',
            expected=' or '.join(SPEC_SUFFIXES),
            found=str(out),
        )
    from tfx import v1 as tfx

    from savedmodel_estimator_tfx.pipelines import definition

    pipeline = definition.create_pipeline(
        config, pipeline_root=root, beam_pipeline_args=beam_pipeline_args
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, use_pipeline_spec_2_1=spec.schema_2_1
        )
    )
    job: dict[str, Any] = runner.run(pipeline, write_out=False)
    if out is not None:
        write_spec(job, out)
    return job


def write_spec(job: dict[str, Any], out: str | os.PathLike[str]) -> None:
    """Writes the PipelineJob (`.json`) or its PipelineSpec (`.yaml`) atomically."""
    path = pathlib.Path(out)
    if path.suffix in ('.yaml', '.yml'):
        import yaml

        text = yaml.safe_dump(job['pipelineSpec'], sort_keys=True)
    else:
        text = json.dumps(job, indent=2, sort_keys=True) + '\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        'w', dir=path.parent, prefix=f'.{path.name}.', delete=False
    ) as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)  # as open() would have made it, not the temp file's 0600
    os.replace(tmp.name, path)


# The golden specs: a fixed configuration, compiled for each target.
GOLDEN_DIR = pathlib.Path(__file__).resolve().parent / 'golden'
GOLDEN_IMAGE = 'us-central1-docker.pkg.dev/example-project/sme/sme:0.1.0'
GOLDEN_PIPELINE_ROOT = 'gs://example-bucket/sme/pipeline-root'
GOLDEN_BEAM_ARGS = ('--direct_running_mode=in_memory',)


def golden_config() -> PipelineConfig:
    return PipelineConfig(
        saved_model='gs://example-bucket/sme/exports/dnn_classifier/1700000000',
        data='gs://example-bucket/sme/data',
        data_format='tfrecord',
        pipeline_name='sme-golden',
        train_steps=20,
        batch_size=8,
        metric_thresholds={'loss': {'change': {'direction': 'lower_is_better', 'absolute': 0.0}}},
        output_formats=['prediction_log', 'jsonl'],
    )


def golden_path(target: str) -> pathlib.Path:
    return GOLDEN_DIR / f'{target}_pipeline.json'


def compile_golden(target: str) -> dict[str, Any]:
    """The golden configuration compiled for `target`, normalized as the golden file holds it."""
    job = compile_pipeline(
        golden_config(),
        target,
        GOLDEN_IMAGE,
        None,
        pipeline_root=GOLDEN_PIPELINE_ROOT,
        beam_pipeline_args=GOLDEN_BEAM_ARGS,
    )
    return normalize(job)


def regenerate_golden() -> list[pathlib.Path]:
    written = []
    for target in TARGETS:
        write_spec(compile_golden(target), golden_path(target))
        written.append(golden_path(target))
    return written


def _main() -> None:
    import sys

    import click

    @click.command()
    @click.option(
        '--regenerate-golden', 'regenerate', is_flag=True, help='Rewrite pipelines/golden/*.json.'
    )
    @click.option(
        '--check-imports',
        'spec_file',
        type=click.Path(exists=True, dir_okay=False),
        help='Exit 1 unless every executor and entry point in this compiled spec imports.',
    )
    def main(regenerate: bool, spec_file: str | None) -> None:
        """Maintenance of the compiled specs (users compile with `sme compile`)."""
        if spec_file:
            problems = check_imports(json.loads(pathlib.Path(spec_file).read_text()))
            for problem in problems:
                click.echo(f'error: {problem}', err=True)
            if problems:
                sys.exit(1)
            click.echo(f'{spec_file}: every executor and entry point imports')
        if regenerate:
            for path in regenerate_golden():
                click.echo(f'wrote {path}')
        if not (spec_file or regenerate):
            raise click.UsageError('nothing to do: pass --regenerate-golden or --check-imports.')

    main()


if __name__ == '__main__':
    _main()
