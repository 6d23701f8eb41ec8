"""`sme`: inspect an Estimator export, run the pipeline, or run one stage.

sme inspect SAVED_MODEL
sme run --saved-model DIR --data DIR [--config FILE] [--beam-arg ARG ...]   (cli_run.py)
sme import|train|evaluate|predict ...                                       (cli_stages.py)
sme compile --target vertex|kubeflow ...                                    (cli_compile.py)
sme migrate --saved-model DIR --output DIR                                  (migrate_command.py)

Exit statuses are listed in cli_common.py; Ctrl-C exits 130 at once (interrupts.py).
"""

from __future__ import annotations

import json
import os
import warnings

import click
from rich.table import Table

from pipelines import cli_run, cli_stages, interrupts
from pipelines.cli_common import console, fail
from pipelines.cli_compile import compile_command
from pipelines.cli_run import print_summary, run_pipeline
from pipelines.migrate_command import migrate_command

__all__ = ['main', 'print_summary', 'run_pipeline']

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# ML Metadata's C++ library logs each failed reconnection to stderr, with advice about MySQL 8
# authentication that misleads when a server simply went away; `sme run` says what happened.
os.environ.setdefault('GLOG_minloglevel', '3')
# Google client libraries warn at import about Python 3.10, which TFX 1.16 requires.
warnings.filterwarnings('ignore', category=FutureWarning)


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep SavedModels exported by tf.estimator alive: inspect, continue training, evaluate,
    batch-predict, in ML-Metadata-tracked pipelines."""
    ctx.call_on_close(interrupts.install(ctx.invoked_subcommand))


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
        fail(str(err))
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
    console.print(summary.path, style='bold')
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
        console.print(f'unsafe ops ({len(unsafe)}):', style='red')
        for op in unsafe:
            console.print(f'  {op}')
    else:
        console.print('ops scan: nothing a model has no business running')


for command in (cli_run.run, *cli_stages.COMMANDS, compile_command, migrate_command):
    main.add_command(command)

if __name__ == '__main__':
    main()
