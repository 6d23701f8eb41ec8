"""`sme migrate EXPORT OUT`: an Estimator export into a TF2-native, trainable SavedModel.

Exit statuses as the other `sme` commands: 0 done; 2 the export cannot be migrated or OUT is not
new or empty (the message says why; nothing is written); 1 anything else failed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

from savedmodel_estimator_tfx.pipelines.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, fail

if TYPE_CHECKING:
    from savedmodel_estimator.migration import MigrationResult


def _summary(result: MigrationResult) -> str:
    data = dataclasses.asdict(result)
    signatures = ', '.join(f'{k} ({v.rsplit("/", 1)[-1]})' for k, v in data['signatures'].items())
    lines = [
        f'Migrated into {data["output_dir"]}',
        f'  signatures:       {signatures or "none (no serve MetaGraph)"}',
        f'  functions:        {", ".join(data["endpoints"])}',
        f'  variables:        {len(data["variables"])} (+ {len(data["metric_variables"])} metric)',
    ]
    if data['label_keys']:
        lines.append(f'  label keys:       {", ".join(data["label_keys"])}')
    if data['load_time_ops']:
        lines.append(f"  load-time ops:    {data['load_time_ops']} (the export's init op writes)")
    lines.append('Load it with tf.saved_model.load(OUT); see docs/leaving-estimator.md.')
    return '\n'.join(lines)


@click.command(name='migrate')
@click.argument('export', type=click.Path())
@click.argument('out', type=click.Path())
@click.option(
    '--label-key',
    'label_keys',
    multiple=True,
    help='A train/eval signature input that is a label (repeatable; default: label).',
)
@click.option('--json', 'as_json', is_flag=True, help='Print what was written as JSON.')
def migrate_command(export: str, out: str, label_keys: tuple[str, ...], as_json: bool) -> None:
    """Migrate the Estimator export EXPORT into a TF2 SavedModel at OUT (new or empty).

    The result loads with tf.saved_model.load alone: every serving signature of the export,
    train_step(features, labels) and update_metrics/metrics/reset_metrics over one set of
    tf.Variables.
    """
    from savedmodel_estimator import SavedModelFormatError
    from savedmodel_estimator.migration import MigrationError, migrate

    try:
        result = migrate(export, out, label_keys=list(label_keys) or None)
    except (MigrationError, SavedModelFormatError, FileExistsError) as err:
        fail(str(err), EXIT_BAD_INPUT)
    except Exception as err:  # reported, not a traceback: the command's contract
        fail(f'migrating {export!r} failed: {type(err).__name__}: {err}', EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2, sort_keys=True))
    else:
        click.echo(_summary(result))
