"""What every benchmark process shares: fixture paths, the result line, environment facts, RSS.

Imports only the standard library at module top, so the orchestrator (`run.py`) can use it
without TensorFlow, and the cases can use it in every environment (both lanes, `.venv-reference`).
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib.metadata
import io
import json
import os
import pathlib
import platform
import pstats
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPORTS = REPO_ROOT / 'tests' / 'data' / 'estimator_exports'
# The generated inputs; the tests point SME_BENCH_DATA at a temporary directory.
DATA_DIR = pathlib.Path(
    os.environ.get('SME_BENCH_DATA') or pathlib.Path(__file__).resolve().parent / '.data'
)
RESULTS_DIR = pathlib.Path(__file__).resolve().parent / 'results'

# The fixtures the cases run on, by the short name the command lines use.
MODELS = {'wide': 'dnn_classifier_wide', 'seed': 'dnn_classifier_seed'}

# Where each case can run: ours' two lanes, in the order the tables show them, and the
# environment of the original SavedModelEstimator (TF 2.15 + tensorflow-estimator), where ours
# also runs as a control. The orchestrator runs inside the latest lane's userland where the host's
# glibc is too old for it natively (`tools/lane latest`), so all of them are reachable from there.
LANES = ('legacy', 'latest')
REFERENCE = 'reference'
VENVS = {'legacy': '.venv-legacy', 'latest': '.venv-latest', REFERENCE: '.venv-reference'}

# Installed versions every result records (read from package metadata, nothing imported).
_DISTRIBUTIONS = ('tensorflow', 'protobuf', 'tfx', 'tfx-bsl', 'apache-beam', 'tensorflow-estimator')

# The prefix of the one line a case prints for the orchestrator; anything else is log noise.
RESULT_PREFIX = 'BENCH_RESULT '

_THREAD_VARIABLES = (
    'OMP_NUM_THREADS',
    'TF_NUM_INTRAOP_THREADS',
    'TF_NUM_INTEROP_THREADS',
    'TF_ENABLE_ONEDNN_OPTS',
    'TF_CPP_MIN_LOG_LEVEL',
    'CUDA_VISIBLE_DEVICES',
)


def saved_model_dir(model: str) -> pathlib.Path:
    return EXPORTS / MODELS[model] / 'saved_model'


def fixture_data(model: str) -> dict[str, Any]:
    """The `data` section of the fixture's reference.json: features, label, files."""
    reference = json.loads((EXPORTS / MODELS[model] / 'reference.json').read_text())
    return reference['data']


def emit(result: dict[str, Any]) -> None:
    """Prints the case's result as the one line the orchestrator reads."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, sort_keys=True, default=str) + '\n')
    sys.stdout.flush()


def rss_mb() -> float:
    """The current resident set size of this process, in MiB (from /proc; 0 if unavailable)."""
    try:
        for line in pathlib.Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> dict[str, float]:
    """Peak RSS so far of this process and of its waited-for children, in MiB (ru_maxrss, KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {'self': round(own, 1), 'children': round(children, 1)}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process's threads and its waited-for children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine_facts() -> dict[str, Any]:
    """Facts about the machine that do not depend on the environment the case runs in."""
    cpu_model = ''
    with contextlib.suppress(OSError):
        for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu_model = line.split(':', 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError, ValueError):
        first = pathlib.Path('/proc/meminfo').read_text().splitlines()[0]
        mem_gib = round(int(first.split()[1]) / 1024**2, 1)
    return {
        'platform': platform.platform(),
        'glibc': glibc(),
        'userland': os.environ.get('SME_IN_USERLAND'),
        'cpu_model': cpu_model,
        'cpu_count': os.cpu_count(),
        'cpus_usable': len(os.sched_getaffinity(0)),
        'memory_gib': mem_gib,
    }


def glibc() -> str:
    """The version of the C library this process runs on (not the one Python was built for)."""
    with contextlib.suppress(ValueError, OSError):
        return (os.confstr('CS_GNU_LIBC_VERSION') or '').replace('glibc ', '')
    return ''


def python(env: str) -> pathlib.Path:
    """The Python of an environment: a lane or REFERENCE."""
    return REPO_ROOT / VENVS[env] / 'bin' / 'python'


def installed_versions() -> dict[str, str | None]:
    """Versions of the stack's distributions installed here (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def protobuf_facts() -> dict[str, str | None]:
    """protobuf's version and implementation in this process (`upb`, `cpp` or `python`)."""
    try:
        from google.protobuf import __version__
        from google.protobuf.internal import api_implementation
    except ImportError:
        return {'protobuf': None, 'protobuf_implementation': None}
    return {'protobuf': __version__, 'protobuf_implementation': api_implementation.Type()}


def environment_facts(**extra: Any) -> dict[str, Any]:
    """The environment one result was measured in: Python, TF, protobuf, threads, machine load.

    Call after TensorFlow is imported (it is read from `sys.modules`, never imported here).
    """
    facts: dict[str, Any] = {
        'python': platform.python_version(),
        'executable': sys.executable,
        'glibc': glibc(),
        'userland': os.environ.get('SME_IN_USERLAND'),
        'installed': installed_versions(),
        **protobuf_facts(),
        'loadavg_1m': round(os.getloadavg()[0], 2),
        'thread_env': {k: os.environ[k] for k in _THREAD_VARIABLES if k in os.environ},
        'pycache_prefix': os.environ.get('PYTHONPYCACHEPREFIX'),
        'writes_bytecode': not sys.dont_write_bytecode,
    }
    tf = sys.modules.get('tensorflow')
    if tf is not None:
        facts['tensorflow'] = tf.__version__
        facts['tf_intra_op_threads'] = tf.config.threading.get_intra_op_parallelism_threads()
        facts['tf_inter_op_threads'] = tf.config.threading.get_inter_op_parallelism_threads()
    for name in ('apache_beam', 'tfx', 'tfx_bsl'):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, '__version__'):
            facts[name] = module.__version__
    facts.update(extra)
    return facts


class Stopwatch:
    """Named wall-clock intervals: `with watch('load'): ...`, then `watch.seconds`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 4)


@contextlib.contextmanager
def maybe_profile(path: str | None, top: int = 40) -> Iterator[None]:
    """cProfile the block when `path` is given; writes the top functions (cumulative, tottime)."""
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        for order in ('cumulative', 'tottime'):
            out.write(f'==== sorted by {order} ====\n')
            stats.sort_stats(order).print_stats(top)
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(out.getvalue())
        profiler.dump_stats(str(path) + '.pstats')
