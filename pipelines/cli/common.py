"""What the `sme` commands share: the console, exit statuses, and parsing `--threshold`.

Exit statuses: 0 done; 1 the run failed (a stage failed, or ended neither COMPLETE nor CACHED);
2 the input is wrong (flags, config, paths, data, thresholds, server login), found before
anything ran; 75 (EX_TEMPFAIL) another run holds the output directory; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 75  # sysexits.h EX_TEMPFAIL: try again later

# No markup: messages carry paths, node and metric names, and a '[/bold]' in one must print as
# written, not be parsed (or crash rich). Styled words go through `styled`.
console = Console(highlight=False, soft_wrap=True, markup=False)
errors = Console(highlight=False, soft_wrap=True, markup=False, stderr=True)


def styled(style: str, words: str, rest: str = '') -> Text:
    """`words` in `style`, then `rest` as written."""
    return Text.assemble((words, style), rest)


config_option = click.option(
    '--config',
    'config_file',
    type=click.Path(exists=True, dir_okay=False),
    help='JSON or YAML settings (schemas/pipeline_config.schema.json); flags override.',
)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    errors.print(styled('red', 'error:', f' {message}'))
    sys.exit(code)


def parse_thresholds(values: tuple[str, ...]) -> dict[str, Any]:
    """`metrics/accuracy>=0.5`, `loss<=2`, `metrics/auc:change>=0` into the thresholds JSON."""
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


def run_stage(name: str, out: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Runs one stage with progress lines; prints its outputs' properties as JSON.

    Bad input exits 2 with its message; a full disk exits 1 naming the path.
    """
    from savedmodel_estimator_tfx.pipelines import failures
    from savedmodel_estimator_tfx.pipelines.progress import progress_to

    try:
        with progress_to(lambda line: console.print(line)):
            outputs = fn(*args, **kwargs)
    except Exception as err:
        if failures.is_disk_full(err):
            fail(f'{name}: {failures.disk_full_message(err, out, None)}', EXIT_FAILED)
        if isinstance(err, (ValueError, RuntimeError, FileNotFoundError)):
            fail(f'{name}: {err}')
        raise
    click.echo(json.dumps(outputs, indent=2, sort_keys=True, default=str))
