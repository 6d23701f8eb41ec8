"""Which Beam runner a component's `beam_pipeline_args` pick, and how to run locally.

TFX's `BaseBeamExecutor` packs its own install into an sdist (`setup.py sdist` in a subprocess,
1-4 s and ~40 MB in the temporary directory per execution) whenever `beam_pipeline_args` is not
empty and names no package or container: workers on other machines need TFX. Runners that run
the pipeline on this machine, in this process or in subprocesses of the same Python, import
everything from the installed environment and never read that package.

Beam's DirectRunner first tries the Prism runner (a Go binary it downloads on first use) and
falls back to its Python FnApiRunner when that fails (offline it fails, after ~0.3-0.5 s).
`local_pipeline` goes to the FnApiRunner directly, as the DirectRunner would build it, so a run
does not depend on network access and behaves the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from savedmodel_estimator.beam import _beam_internal

# Beam's own list of runners that execute on this machine, without Prism: its SDK workers may
# run in containers that need the package.
LOCAL_RUNNERS = frozenset(StandardOptions.LOCAL_RUNNERS) - {'PrismRunner'}
# The names that mean "Beam's default local runner", which tries Prism first.
DIRECT_RUNNERS = frozenset({'DirectRunner', 'SwitchingDirectRunner'})


def _runner_name(options: PipelineOptions) -> str | None:
    runner = options.view_as(StandardOptions).runner
    if runner is None:
        return None
    name = runner if isinstance(runner, str) else type(runner).__name__
    return name.rsplit('.', 1)[-1]


def _options(beam_pipeline_args: Sequence[Any]) -> PipelineOptions | None:
    """The parsed options, or None for args that are not all strings (unresolved placeholders)."""
    if not all(isinstance(arg, str) for arg in beam_pipeline_args):
        return None
    return PipelineOptions(list(beam_pipeline_args))


def runs_on_this_machine(beam_pipeline_args: Sequence[Any]) -> bool:
    """True when the args run the pipeline locally: no `--runner`, or one of `LOCAL_RUNNERS`.

    Args that are not all strings (TFX placeholders not yet resolved) count as not local.
    """
    options = _options(beam_pipeline_args)
    return options is not None and _runner_name(options) in LOCAL_RUNNERS | {None}


def local_pipeline(beam_pipeline_args: Sequence[str]) -> beam.Pipeline | None:
    """A pipeline on the FnApiRunner for args that ask for the DirectRunner, else None.

    The runner is the one the DirectRunner falls back to, built the same way (the options go to
    the workers), so `--direct_running_mode` and `--direct_num_workers` work as documented.
    """
    options = _options(beam_pipeline_args)
    if options is None or _runner_name(options) not in DIRECT_RUNNERS | {None}:
        return None
    return beam.Pipeline(runner=_beam_internal.fn_api_runner(options), options=options)
