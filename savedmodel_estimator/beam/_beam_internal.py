"""The private Apache Beam symbols this project relies on, each wrapped once, with why.

Checked on Beam 2.74 (the legacy lane) and 2.77 (the latest lane) by
tests/unit/test_upstream_canaries_beam_tfx.py. Nothing else in this repository touches a private Beam
module or attribute (a test checks), so a Beam that moves one fails here, at import, with an
`UpstreamChangedError` naming it.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_provision_api_pb2
from google.protobuf import struct_pb2

from savedmodel_estimator._fence import Private, UpstreamChangedError, check

SUPPORTED = 'Apache Beam 2.74 to 2.77'
_FENCE = __name__.replace('.', '/') + '.py'

try:
    from apache_beam.runners.portability import portable_runner as _portable_runner
    from apache_beam.runners.portability.fn_api_runner import fn_runner as _fn_runner
except ImportError as err:  # pragma: no cover - only on an unsupported Beam
    raise UpstreamChangedError(
        'Apache Beam',
        beam.__version__,
        [f'{err.name}: no such module ({SUPPORTED} have it)'],
        _FENCE,
    ) from err

SYMBOLS = (
    Private(_fn_runner, 'FnApiRunner', ('provision_info',)),
    Private(_fn_runner, 'ExtendedProvisionInfo', ('provision_info',)),
    Private(_portable_runner, 'JobServiceHandle.encode_pipeline_options', ('all_options',)),
)
check('Apache Beam', beam.__version__, _FENCE, SYMBOLS)

FnApiRunner: type = _fn_runner.FnApiRunner
"""`fn_runner.FnApiRunner`: the Python runner the DirectRunner falls back to (for isinstance)."""


def encode_pipeline_options(options: PipelineOptions) -> struct_pb2.Struct:
    """`portable_runner.JobServiceHandle.encode_pipeline_options`: `options` as the portable
    job API carries them to SDK workers (a Struct keyed `beam:option:<name>:v1`).
    """
    return _portable_runner.JobServiceHandle.encode_pipeline_options(options.get_all_options())


def fn_api_runner(options: PipelineOptions) -> beam.runners.PipelineRunner:
    """A `FnApiRunner` built as the DirectRunner builds its fallback, with `options` in it.

    Uses `fn_runner.FnApiRunner` and `fn_runner.ExtendedProvisionInfo`: the options go to the
    SDK workers through the provision info, so `--direct_running_mode` and
    `--direct_num_workers` work as documented, without the DirectRunner's attempt at Prism first.
    """
    provision_info = _fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encode_pipeline_options(options))
    )
    return _fn_runner.FnApiRunner(provision_info=provision_info)
