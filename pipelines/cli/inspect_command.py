"""`sme inspect SAVED_MODEL`: modes, signatures, variables and the ops scan of an export."""

from __future__ import annotations

import json

import click
from rich.table import Table

from savedmodel_estimator_tfx.pipelines.cli.common import console, fail


@click.command(name='inspect')
@click.argument('saved_model')
@click.option('--json', 'as_json', is_flag=True, help='Print a machine-readable summary.')
@click.option('--allow-op', 'allowed', multiple=True, help='Op type the scan may let through.')
def inspect_command(saved_model: str, as_json: bool, allowed: tuple[str, ...]) -> None:
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
