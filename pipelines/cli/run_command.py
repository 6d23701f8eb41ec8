"""`sme run`: the whole pipeline, locally, with progress lines and a summary.

In order: the settings are validated; the MySQL login is tried and the paths, the data and the
thresholds are checked (`preflight`), before anything is written; the output directory is
locked (`run_lock`); what killed runs left behind is settled (`abandoned`); the pipeline runs; every stage of this run must end COMPLETE or CACHED, or
the run exits 1 naming the stage. Failures outside the pipeline (a full disk, a lost ML Metadata
server) are explained by `failures`.
"""

from __future__ import annotations

import time
from typing import Any

import click
from rich.table import Table

from savedmodel_estimator_tfx.pipelines.cli.common import (
    EXIT_FAILED,
    EXIT_LOCKED,
    config_option,
    console,
    fail,
    parse_thresholds,
    styled,
)

FINISHED_STATES = ('COMPLETE', 'CACHED')


@click.command()
@config_option
@click.option('--saved-model', help='The Estimator export (local path or gs://...).')
@click.option('--data', help='Directory with train* and eval* files (CSV or TFRecord).')
@click.option('--output-dir', help='Pipeline root and ML Metadata go here [sme-output].')
@click.option('--train-steps', type=int, help='Steps to continue training [100].')
@click.option('--batch-size', type=int, help='Training and evaluation batch size [32].')
@click.option('--save-checkpoints-steps', type=int, help='Checkpoint every N training steps.')
@click.option('--save-checkpoints-secs', type=int, help='Or every N seconds [600].')
@click.option('--keep-checkpoint-max', type=int, help='Checkpoints to keep [5].')
@click.option(
    '--allow-non-finite',
    is_flag=True,
    default=None,
    help='Train and evaluate on NaN or infinite feature values (refused by default).',
)
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
@click.option(
    '--wait-for-lock',
    is_flag=True,
    help='If another run is using --output-dir, wait for it instead of refusing (exit 75).',
)
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
    thresholds: tuple[str, ...],
    passthrough: tuple[str, ...],
    beam_args: tuple[str, ...],
    no_cache: bool,
    wait_for_lock: bool,
    **flags: Any,
) -> None:
    """Import, continue training, evaluate against the import, and batch-predict if blessed."""
    from savedmodel_estimator_tfx.pipelines.config import ConfigError, PipelineConfig

    mysql = {k[len('mysql_') :]: v for k, v in flags.items() if k.startswith('mysql_')}
    settings = {k: v for k, v in flags.items() if not k.startswith('mysql_')}
    settings.update(
        metric_thresholds=parse_thresholds(thresholds) if thresholds else None,
        passthrough_features=list(passthrough) if passthrough else None,
        beam_pipeline_args=list(beam_args) if beam_args else None,
        enable_cache=False if no_cache else None,
    )
    try:
        values = PipelineConfig.from_file_and_flags(config_file, settings, 'sme run')
        mysql = {k: v for k, v in mysql.items() if v is not None}
        if mysql:  # flags override the config file's metadata.mysql, key by key
            given = (values.get('metadata') or {}).get('mysql', {})
            values['metadata'] = {'mysql': {**given, **mysql}}
        config = PipelineConfig.from_dict(values, source='sme run')
    except ConfigError as err:
        fail(str(err))
    run_pipeline(config, wait_for_lock=wait_for_lock)


def _check_before_writing(config: Any) -> Any:
    """The MySQL login, then preflight; returns where ML Metadata is, for people."""
    from savedmodel_estimator_tfx.pipelines import metadata_connection, preflight

    try:
        label = metadata_connection.describe(config)
        settings = metadata_connection.mysql_settings(config)
        if settings is not None:
            metadata_connection.check_mysql(settings)
        preflight.check_run(config)
    except (ValueError, ConnectionError) as err:
        fail(str(err))
    return label


def run_pipeline(config: Any, wait_for_lock: bool = False) -> None:
    """Checks, locks the output directory, runs the local pipeline, prints the summary.

    Exits 2 on bad input, 75 when another run holds the output directory, 1 when the run
    fails or a stage of it ends neither COMPLETE nor CACHED.
    """
    from savedmodel_estimator_tfx.pipelines import run_lock

    metadata_label = _check_before_writing(config)
    try:
        with run_lock.output_dir_lock(
            config.output_dir, wait=wait_for_lock, on_wait=lambda line: console.print(line)
        ):
            _run_locked(config, metadata_label)
    except run_lock.OutputDirLockedError as err:
        fail(str(err), EXIT_LOCKED)


def _settle_abandoned(config: Any, connection: Any) -> None:
    """Cancels what killed runs on this output directory left RUNNING; says so."""
    import os

    from savedmodel_estimator_tfx.pipelines import abandoned, lineage, metadata_connection

    root = config.pipeline_root
    if '://' in root:
        return
    output_dir = os.path.abspath(config.output_dir) + os.sep
    private = metadata_connection.mysql_settings(config) is None and os.path.abspath(
        config.metadata_file
    ).startswith(output_dir)
    store = lineage.open_store(connection)
    for item in abandoned.settle(
        store, config.pipeline_name, os.path.abspath(root), store_is_private=private
    ):
        console.print(f'Cleaned up {item.describe()}.')


def _run_locked(config: Any, metadata_label: str) -> None:
    from savedmodel_estimator_tfx.pipelines import (
        failures,
        lineage,
        local_runner,
        metadata_connection,
        run_summary,
    )
    from savedmodel_estimator_tfx.pipelines.progress import progress_to

    connection = metadata_connection.connection_config(config)
    console.print(f'Running pipeline {config.pipeline_name!r} (output: {config.output_dir})')
    started_ms = int(time.time() * 1000)
    tracker = failures.StageTracker()
    try:
        _settle_abandoned(config, connection)
        with progress_to(lambda line: console.print(line)), failures.tracking_stages(tracker):
            local_runner.run_local(config, connection)
    except Exception as err:  # the run failed: say where, keep the traceback short
        explained = failures.explain(err, config, tracker.current)
        reason = explained or f'{type(err).__name__}: {err}'
        console.print(styled('red', 'Pipeline failed:', f' {reason}'))
        console.print(f'ML Metadata: {metadata_label}')
        raise SystemExit(EXIT_FAILED) from None
    summary = run_summary.summarize(connection, config.pipeline_name, metadata_label)
    print_summary(summary)
    states = lineage.run_stage_states(
        lineage.open_store(connection), config.pipeline_name, run_summary.STAGES, started_ms
    )
    unfinished = {stage: state for stage, state in states.items() if state not in FINISHED_STATES}
    if unfinished:
        stage, state = next(iter(unfinished.items()))
        fail(
            f'stage {stage} of this run ended {state}, not COMPLETE or CACHED '
            f'(all stages: {", ".join(f"{s} {v}" for s, v in states.items())}). The run did not '
            'finish; its outputs above are not all from this run.',
            EXIT_FAILED,
        )


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
