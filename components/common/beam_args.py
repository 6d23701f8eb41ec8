"""Which Beam runner a component's `beam_pipeline_args` pick, and what that needs.

TFX's `BaseBeamExecutor` packs its own install into an sdist (`setup.py sdist` in a subprocess,
1-4 s and ~40 MB in the temporary directory per execution) whenever `beam_pipeline_args` is not
empty and names no package or container: workers on other machines need TFX. Runners that run
the pipeline on this machine, in this process or in subprocesses of the same Python, import
everything from the installed environment and never read that package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

# Beam's runners that execute on this machine with this Python environment (the DirectRunner's
# in-memory, multi-threading and multi-processing modes all run on FnApiRunner).
LOCAL_RUNNERS = frozenset(
    {'DirectRunner', 'SwitchingDirectRunner', 'BundleBasedDirectRunner', 'FnApiRunner'}
)


def runs_on_this_machine(beam_pipeline_args: Sequence[Any]) -> bool:
    """True when the args run the pipeline locally: no `--runner`, or one of `LOCAL_RUNNERS`.

    Args that are not all strings (TFX placeholders not yet resolved) count as not local.
    """
    if not all(isinstance(arg, str) for arg in beam_pipeline_args):
        return False
    runner = PipelineOptions(list(beam_pipeline_args)).view_as(StandardOptions).runner
    if runner is None:
        return True
    name = runner if isinstance(runner, str) else type(runner).__name__
    return name.rsplit('.', 1)[-1] in LOCAL_RUNNERS
