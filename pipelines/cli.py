"""`sme`: inspect an Estimator export, run the pipeline, or run one stage.

sme inspect SAVED_MODEL
sme run --saved-model DIR --data DIR [--config FILE] [--beam-arg ARG ...]
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any

import click
from rich.console import Console
from rich.table import Table

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# Google client libraries warn at import about Python 3.10, which TFX 1.16 requires.
warnings.filterwarnings('ignore', category=FutureWarning)

console = Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    console.print(f'[red]error:[/red] {message}')
    sys.exit(2)


@click.group(context_settings={'help_option_names': ['-h', '--help']})
def main() -> None:
    """Keep SavedModels exported by tf.estimator alive: inspect, continue training, evaluate,
    batch-predict, in ML-Metadata-tracked pipelines."""


@main.command()
@click.argument('saved_model')
@click.option('--json', 'as_json', is_flag=True, help='Print a machine-readable summary.')
@click.option('--allow-op', 'allowed', multiple=True, help='Op type the scan may let through.')
def inspect(saved_model: str, as_json: bool, allowed: tuple[str, ...]) -> None:
    """Modes, signatures, variables and an ops scan of SAVED_MODEL."""
    from savedmodel_estimator import SavedModelFormatError
    from savedmodel_estimator.inspection import inspect_saved_model, scan_ops

    try:
        summary = inspect_saved_model(saved_model)
        unsafe = scan_ops(saved_model, allowed=allowed)
    except (SavedModelFormatError, ValueError) as err:
        _fail(str(err))
        return
    if as_json:
        out = {
            'path': summary.path,
            'modes': list(summary.modes),
            'global_step': summary.global_step,
            'signatures': {
                mode: {
                    'key': sig.key,
                    'method_name': sig.method_name,
                    'inputs': {k: t.to_json() for k, t in sig.inputs.items()},
                    'outputs': {k: t.to_json() for k, t in sig.outputs.items()},
                }
                for mode in summary.modes
                if (sig := summary.signature(mode)) is not None
            },
            'variables': {
                v.name: {'shape': list(v.shape), 'dtype': v.dtype} for v in summary.variables
            },
            'unsafe_ops': [str(op) for op in unsafe],
        }
        click.echo(json.dumps(out, indent=2))
        return
    console.print(f'[bold]{summary.path}[/bold]')
    console.print(
        f'modes: {", ".join(summary.modes) or "none"}; global step: {summary.global_step}'
    )
    for mode in summary.modes:
        sig = summary.signature(mode)
        if sig is None:
            continue
        table = Table(
            title=f'{mode}: signature {sig.key!r} ({sig.method_name})', title_justify='left'
        )
        for column in ('', 'name', 'dtype', 'shape'):
            table.add_column(column)
        for kind, tensors in (('in', sig.inputs), ('out', sig.outputs)):
            for t in tensors.values():
                shape = 'sparse' if t.sparse else str(list(t.shape) if t.shape is not None else '?')
                table.add_row(kind, t.key, t.dtype, shape)
        console.print(table)
    total = sum(1 for _ in summary.variables)
    console.print(f'variables: {total}')
    if unsafe:
        console.print(f'[red]unsafe ops ({len(unsafe)}):[/red]')
        for op in unsafe:
            console.print(f'  {op}')
    else:
        console.print('ops scan: nothing a model has no business running')


def _thresholds(values: tuple[str, ...]) -> dict[str, Any]:
    """`metrics/accuracy>=0.5`, `loss<=2`, `metrics/auc:change>=0` into the thresholds JSON."""
    import re

    out: dict[str, Any] = {}
    for text in values:
        match = re.fullmatch(r'(.+?)(:change)?\s*(>=|<=)\s*([-+.\deE]+)', text.strip())
        if not match:
            raise click.BadParameter(
                f'{text!r}: expected METRIC>=VALUE, METRIC<=VALUE or METRIC:change>=VALUE '
                '(e.g. metrics/accuracy>=0.6).',
                param_hint='--threshold',
            )
        name, change, op, value = match.groups()
        entry = out.setdefault(name, {})
        if change:
            entry['change'] = {
                'direction': 'higher_is_better' if op == '>=' else 'lower_is_better',
                'absolute': abs(float(value)) if float(value) else 0.0,
            }
        else:
            entry['lower_bound' if op == '>=' else 'upper_bound'] = float(value)
    return out


@main.command()
@click.option(
    '--config',
    'config_file',
    type=click.Path(exists=True, dir_okay=False),
    help='JSON or YAML settings (schemas/pipeline_config.schema.json); flags override.',
)
@click.option('--saved-model', help='The Estimator export (local path or gs://...).')
@click.option('--data', help='Directory with train* and eval* files (CSV or TFRecord).')
@click.option('--output-dir', help='Pipeline root and ML Metadata go here [sme-output].')
@click.option('--train-steps', type=int, help='Steps to continue training [100].')
@click.option('--batch-size', type=int, help='Training and evaluation batch size [32].')
@click.option(
    '--threshold',
    'thresholds',
    multiple=True,
    help='Blessing condition, e.g. metrics/accuracy>=0.6, loss<=1, loss:change<=0.',
)
@click.option(
    '--passthrough',
    'passthrough',
    multiple=True,
    help='Feature to copy beside each prediction (e.g. an id).',
)
@click.option(
    '--beam-arg',
    'beam_args',
    multiple=True,
    help='Passed to Beam, e.g. --beam-arg=--runner=DataflowRunner.',
)
@click.option('--no-cache', is_flag=True, help='Run every stage even if its inputs are unchanged.')
@click.option('--mysql-host', help='Keep ML Metadata on this MySQL/MariaDB server, not in SQLite.')
@click.option('--mysql-port', type=int, help='The MySQL server port [3306].')
@click.option('--mysql-database', help='The ML Metadata database on the server.')
@click.option('--mysql-user', help='The MySQL user.')
@click.option(
    '--mysql-password-env', metavar='VAR', help="Environment variable holding the user's password."
)
@click.option('--mysql-socket', help='Unix socket of a server on this machine (not host/port).')
def run(
    config_file: str | None,
    saved_model: str | None,
    data: str | None,
    output_dir: str | None,
    train_steps: int | None,
    batch_size: int | None,
    thresholds: tuple[str, ...],
    passthrough: tuple[str, ...],
    beam_args: tuple[str, ...],
    no_cache: bool,
    **mysql_flags: Any,
) -> None:
    """Import, continue training, evaluate against the import, and batch-predict if blessed."""
    from pipelines.config import ConfigError, PipelineConfig

    flags = {
        'saved_model': saved_model,
        'data': data,
        'output_dir': output_dir,
        'train_steps': train_steps,
        'batch_size': batch_size,
        'metric_thresholds': _thresholds(thresholds) if thresholds else None,
        'passthrough_features': list(passthrough) if passthrough else None,
        'beam_pipeline_args': list(beam_args) if beam_args else None,
        'enable_cache': False if no_cache else None,
    }
    try:
        values = PipelineConfig.from_file_and_flags(config_file, flags, 'sme run')
    except ConfigError as err:
        _fail(str(err))
        return
    mysql = {k[len('mysql_') :]: v for k, v in mysql_flags.items() if v is not None}
    if mysql:  # flags override the config file's metadata.mysql, key by key
        values['metadata'] = {'mysql': {**(values.get('metadata') or {}).get('mysql', {}), **mysql}}
    try:
        config = PipelineConfig.from_dict(values, source='sme run')
    except ConfigError as err:
        _fail(str(err))
        return
    run_pipeline(config)


def run_pipeline(config: Any) -> None:
    """Runs the local pipeline with progress lines, then prints the summary."""
    from pipelines import local_pipeline, metadata_connection, run_summary
    from pipelines.progress import progress_to

    try:  # a MySQL server that is down or refuses the login is reported before anything runs
        metadata_label = metadata_connection.describe(config)
        settings = metadata_connection.mysql_settings(config)
        if settings is not None:
            metadata_connection.check_mysql(settings)
        connection = metadata_connection.connection_config(config)
    except (ValueError, ConnectionError) as err:
        _fail(str(err))
        return
    console.print(f'Running pipeline {config.pipeline_name!r} (output: {config.output_dir})')
    try:
        with progress_to(lambda line: console.print(line)):
            local_pipeline.run_local(config, connection)
    except Exception as err:  # the run failed: say where, keep the traceback short
        console.print(f'[red]Pipeline failed:[/red] {type(err).__name__}: {err}')
        console.print(f'ML Metadata: {metadata_label}')
        sys.exit(1)
    summary = run_summary.summarize(connection, config.pipeline_name, metadata_label)
    print_summary(summary)


def print_summary(summary: Any) -> None:
    console.print()
    stages = ', '.join(f'{stage} {state}' for stage, state in summary.states.items())
    console.print(f'Stages: {stages}')
    console.print(f'Imported model: {summary.imported_model} (global step {summary.imported_step})')
    console.print(f'Trained model:  {summary.trained_model} (global step {summary.trained_step})')
    names = sorted(set(summary.metrics_before) | set(summary.metrics_after))
    if names:
        table = Table(
            title='Metrics (eval split): imported model -> trained model', title_justify='left'
        )
        table.add_column('metric')
        table.add_column('before', justify='right')
        table.add_column('after', justify='right')

        def fmt(value: Any) -> str:
            return f'{value:.6g}' if isinstance(value, (int, float)) else '-'

        for name in names:
            table.add_row(
                name, fmt(summary.metrics_before.get(name)), fmt(summary.metrics_after.get(name))
            )
        console.print(table)
    verdict = {True: 'BLESSED', False: 'NOT BLESSED', None: 'unknown'}[summary.blessed]
    console.print(f'Blessing: {verdict} ({summary.blessing_reason or "no reason recorded"})')
    console.print(f'Evaluation: {summary.evaluation}')
    if summary.predictions_skipped:
        console.print(f'Predictions: skipped ({summary.predictions_skipped})')
    else:
        count = summary.predicted_examples
        console.print(
            f'Predictions: {count if count is not None else "?"} examples in {summary.predictions}'
        )
    console.print(f'ML Metadata: {summary.metadata}')


def _run_stage(name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Runs one stage with progress lines; prints its outputs' properties as JSON."""
    from pipelines.progress import progress_to

    try:
        with progress_to(lambda line: console.print(line)):
            outputs = fn(*args, **kwargs)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        _fail(f'{name}: {err}')
        return
    click.echo(json.dumps(outputs, indent=2, sort_keys=True, default=str))


def _json_list(values: tuple[str, ...]) -> list[str] | None:
    return list(values) if values else None


@main.command(name='import')
@click.argument('source')
@click.option('--out', required=True, help='Model artifact directory to write (Format-Serving/).')
@click.option(
    '--require-mode', 'modes', multiple=True, type=click.Choice(['train', 'eval', 'infer'])
)
@click.option('--allow-op', 'allowed', multiple=True, help='Op type the scan may let through.')
@click.option('--schema-out', help='Also write a Schema inferred from the signatures here.')
def import_command(
    source: str, out: str, modes: tuple[str, ...], allowed: tuple[str, ...], schema_out: str | None
) -> None:
    """Validate and scan the SavedModel at SOURCE and copy it into a Model artifact at --out."""
    from pipelines import stages

    _run_stage(
        'import',
        stages.run_import,
        source,
        out,
        required_modes=modes,
        allow_unsafe_ops=allowed,
        emit_schema=schema_out,
    )


@main.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='Model artifact directory to write.')
@click.option('--run-dir', required=True, help='ModelRun directory: checkpoints, TensorBoard logs.')
@click.option('--train-steps', type=int, help="Steps beyond the model's global step.")
@click.option('--max-steps', type=int, help='Train until this global step.')
@click.option('--batch-size', type=int)
@click.option('--shuffle-buffer', type=int)
@click.option('--split', 'splits', multiple=True, help='Split(s) to train on [train].')
@click.option('--checkpoint-dir', help='Where checkpoints survive a failed attempt.')
def train(
    model: str,
    examples: str,
    out: str,
    run_dir: str,
    train_steps: int | None,
    max_steps: int | None,
    batch_size: int | None,
    shuffle_buffer: int | None,
    splits: tuple[str, ...],
    checkpoint_dir: str | None,
) -> None:
    """Continue training a model on tf.Examples; write the trained model and its run."""
    from pipelines import stages

    _run_stage(
        'train',
        stages.run_train,
        model,
        examples,
        out,
        run_dir,
        train_steps=train_steps,
        max_steps=max_steps,
        batch_size=batch_size,
        shuffle_buffer=shuffle_buffer,
        train_splits=_json_list(splits),
        checkpoint_dir=checkpoint_dir,
    )


@main.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='ModelEvaluation directory to write.')
@click.option('--blessing-out', required=True, help='ModelBlessing directory to write.')
@click.option('--baseline', help='Baseline model to compare with.')
@click.option(
    '--threshold',
    'thresholds',
    multiple=True,
    help='e.g. metrics/accuracy>=0.6, loss<=1, loss:change<=0.',
)
@click.option('--split', 'splits', multiple=True, help='Split(s) to evaluate on [eval].')
@click.option('--batch-size', type=int)
def evaluate(
    model: str,
    examples: str,
    out: str,
    blessing_out: str,
    baseline: str | None,
    thresholds: tuple[str, ...],
    splits: tuple[str, ...],
    batch_size: int | None,
) -> None:
    """Run the model's own eval graph (and the baseline's); write metrics and a blessing."""
    from pipelines import stages

    _run_stage(
        'evaluate',
        stages.run_evaluate,
        model,
        examples,
        out,
        blessing_out,
        baseline=baseline,
        metric_thresholds=json.dumps(_thresholds(thresholds)) if thresholds else None,
        eval_splits=splits or ('eval',),
        batch_size=batch_size,
    )


@main.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='InferenceResult directory to write.')
@click.option('--blessing', help='Blessing directory; predictions are skipped if NOT_BLESSED.')
@click.option('--signature', 'signature_name', help='Signature to run [serving_default].')
@click.option('--split', 'splits', multiple=True, help='Split(s) to predict [all].')
@click.option(
    '--format', 'formats', multiple=True, type=click.Choice(['prediction_log', 'jsonl', 'parquet'])
)
@click.option('--passthrough', multiple=True, help='Feature to copy beside each prediction.')
@click.option('--max-batch-size', type=int)
@click.option('--beam-arg', 'beam_args', multiple=True, help='Passed to Beam.')
def predict(
    model: str,
    examples: str,
    out: str,
    blessing: str | None,
    signature_name: str | None,
    splits: tuple[str, ...],
    formats: tuple[str, ...],
    passthrough: tuple[str, ...],
    max_batch_size: int | None,
    beam_args: tuple[str, ...],
) -> None:
    """Batch-predict tf.Examples with Beam; write PredictionLogs (and rows)."""
    from pipelines import stages

    _run_stage(
        'predict',
        stages.run_predict,
        model,
        examples,
        out,
        blessing=blessing,
        beam_pipeline_args=beam_args,
        signature_name=signature_name,
        splits=_json_list(splits),
        output_formats=_json_list(formats),
        passthrough_features=_json_list(passthrough),
        max_batch_size=max_batch_size,
    )


# `sme compile` (Kubeflow V2 / Vertex) lives in its own module.
from pipelines.cli_compile import compile_command  # noqa: E402

main.add_command(compile_command)

from pipelines.migrate_command import migrate_command  # noqa: E402

main.add_command(migrate_command)

if __name__ == '__main__':
    main()
