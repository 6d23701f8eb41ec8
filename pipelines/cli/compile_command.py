"""`sme compile`: the pipeline as a Vertex AI / Kubeflow Pipelines v2 spec.

sme compile --target vertex --image IMAGE --out pipeline.json --config run.json \
    --pipeline-root gs://BUCKET/root
"""

from __future__ import annotations

import click

from savedmodel_estimator_tfx.pipelines.cli.common import config_option, fail


@click.command(name='compile')
@click.option(
    '--target', required=True, type=click.Choice(['vertex', 'kubeflow']), help='Orchestrator.'
)
@click.option('--image', required=True, help='Image the tasks run (built from the Dockerfile).')
@click.option(
    '--out',
    required=True,
    type=click.Path(dir_okay=False),
    help='.json: the PipelineJob (Vertex); .yaml: the PipelineSpec (KFP upload).',
)
@config_option
@click.option('--saved-model', help='The Estimator export, as the tasks reach it (gs://...).')
@click.option('--data', help='Directory of train* and eval* files, as the tasks reach it.')
@click.option('--data-format', type=click.Choice(['csv', 'tfrecord']))
@click.option('--pipeline-name', help='[a-z0-9][a-z0-9-]{0,127} [sme-continue-training].')
@click.option('--pipeline-root', help='Where the tasks write artifacts (gs://... for Vertex).')
@click.option('--train-steps', type=int)
@click.option(
    '--beam-arg',
    'beam_args',
    multiple=True,
    help="Every task's Beam options, e.g. --beam-arg=--runner=DataflowRunner.",
)
@click.option('--no-cache', is_flag=True, help='Compile with caching off.')
def compile_command(
    target: str,
    image: str,
    out: str,
    config_file: str | None,
    saved_model: str | None,
    data: str | None,
    data_format: str | None,
    pipeline_name: str | None,
    pipeline_root: str | None,
    train_steps: int | None,
    beam_args: tuple[str, ...],
    no_cache: bool,
) -> None:
    """Compile the pipeline with TFX's KubeflowV2DagRunner to a spec Vertex AI or KFP v2 runs."""
    from savedmodel_estimator_tfx.pipelines.config import ConfigError, PipelineConfig
    from savedmodel_estimator_tfx.pipelines.kubeflow_v2 import CompileError, compile_pipeline

    flags = {
        'saved_model': saved_model,
        'data': data,
        'data_format': data_format,
        'pipeline_name': pipeline_name,
        'train_steps': train_steps,
        'enable_cache': False if no_cache else None,
    }
    try:
        values = PipelineConfig.from_file_and_flags(config_file, flags, 'sme compile')
    except ConfigError as err:
        fail(str(err))
        return
    try:
        config = PipelineConfig.from_dict(values, source='sme compile')
        job = compile_pipeline(
            config,
            target,
            image,
            out,
            pipeline_root=pipeline_root,
            beam_pipeline_args=list(beam_args) if beam_args else None,
        )
    except (ConfigError, CompileError) as err:
        fail(str(err))
        return
    spec = job['pipelineSpec']
    click.echo(
        f'Wrote {out}: pipeline {spec["pipelineInfo"]["name"]!r}, '
        f'{len(spec["root"]["dag"]["tasks"])} tasks, schema {spec["schemaVersion"]}, '
        f'image {image}, pipeline root {job["runtimeConfig"]["gcsOutputDirectory"]}.'
    )
