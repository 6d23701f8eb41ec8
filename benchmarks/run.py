"""`make bench`: every case in fresh processes of the right environment, interleaved; medians.

    tools/lane latest .venv-legacy/bin/python -m benchmarks.run     # what `make bench` runs
    ... -m benchmarks.run --quick         # smoke: small sizes, one run each -> results/quick.*
    ... -m benchmarks.run --report-only   # rewrite the markdown from the JSON
    ... -m benchmarks.run --lanes legacy  # one lane only (where the latest lane cannot run)

Ours runs on both lanes, the legacy (`.venv-legacy`: Python 3.10, TF 2.16, TFX 1.16, protobuf
3.20) and the latest (`.venv-latest`: Python 3.11, TF 2.21, TFX 1.21, protobuf 6), beside the
original SavedModelEstimator in `.venv-reference` (TF 2.15), alternating (legacy, latest,
original, legacy, ...) so drifting load on the machine hits all alike. Ours also runs in
`.venv-reference` (TF 2.15) as a control, which tells TensorFlow-version effects apart from the
implementation's: for train by default, for every measurement with `--control`. The batch and
pipeline cases run on both lanes, each with its own TFX (stock BulkInferrer included), the two
lanes' runs of a measurement side by side. To keep a full run near 25 minutes the legacy lane
repeats less than the latest (`Plan`: 3 estimator runs, not 5; 2 batch runs, not 3; 1 of stock
BulkInferrer and the Parquet variant at 200k, not 2). `protobuf_costs` times the messages the
cases pass around, in each environment.

The latest lane needs glibc >= 2.39. Where the host's is older, `tools/lane latest` runs this
orchestrator in a Debian 13 userland where the repository and the Pythons are at the same paths,
so every environment (both lanes and `.venv-reference`) runs from there, on the same C library;
temporary directories are the userland's own `/tmp`. Only the standard library is needed here;
the cases import TensorFlow in their own processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks import findings, report
from benchmarks.common import (
    LANES,
    REFERENCE,
    REPO_ROOT,
    RESULT_PREFIX,
    RESULTS_DIR,
    glibc,
    machine_facts,
    python,
)
from benchmarks.plan import (
    Job,
    Plan,
    batch_jobs,
    estimator_jobs,
    make_plan,
    pipeline_jobs,
    protobuf_jobs,
    stage_jobs,
)

TIMEOUT_S = 1200
LATEST_GLIBC = (2, 39)  # TFX 1.21's wheels (ml-metadata, TFDV, tfx-bsl); see tools/lane


def _env() -> dict[str, str]:
    """The cases' environment: quiet TF; bytecode read from the venvs, written for our modules.

    `tools/make-venv` compiles every venv's bytecode at install, so `import tensorflow` takes
    ~5 s, not 10-11 s, in each process. No PYTHONPYCACHEPREFIX: with it, Python would ignore
    that bytecode and compile everything again into the prefix. PYTHONDONTWRITEBYTECODE (set on
    these machines) is dropped, so this repository's own modules are compiled once, not per run.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    env.pop('PYTHONPYCACHEPREFIX', None)
    return env


def run_case(where: str, module: str, args: list[str]) -> dict[str, Any]:
    """Runs one case in a fresh process of an environment; its result line, or an error record."""
    command = [str(python(where)), '-m', f'benchmarks.cases.{module}', *args]
    # Each case gets its own TMPDIR, removed afterwards: TFX leaves a ~40 MB copy of itself
    # there for every Beam executor it builds an sdist for, and never deletes it.
    with tempfile.TemporaryDirectory(prefix='bench-tmp-') as tmp:
        env = dict(_env(), TMPDIR=tmp)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return {'error': f'timed out after {TIMEOUT_S} s', 'command': command}
        wall = round(time.perf_counter() - start, 2)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
            result['process_wall_s'] = wall
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    return {'error': f'exit code {proc.returncode}', 'stderr_tail': tail, 'command': command}


# This repository's packages: compiled for each environment's Python before any timing.
PACKAGES = ('savedmodel_estimator', 'components', 'pipelines', 'schemas', 'benchmarks')


def compile_bytecode(envs: list[str]) -> None:
    """Compiles our packages' bytecode for each environment's Python, before any timing.

    The venvs' own bytecode is compiled at install; ours is not, and a module first imported
    inside a timed block (the Beam DoFns, for one) would otherwise be compiled in the first run.
    """
    packages = [name for name in PACKAGES if (REPO_ROOT / name).is_dir()]
    for env in dict.fromkeys(envs):
        command = [str(python(env)), '-m', 'compileall', '-q', *packages]
        proc = subprocess.run(command, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True)
        if proc.returncode:  # the cases that import a broken module will say which
            print(f'warning: {" ".join(command)} failed:\n{(proc.stdout + proc.stderr)[-2000:]}')


def prepare_data(plan: Plan) -> None:
    """Generates the example sets before any timing (deterministic; reused when present)."""
    sizes = (*plan.batch_sizes_n, *plan.memory_sizes_n)
    args = [arg for n in sizes for arg in ('--n', str(n))]
    command = [str(python(plan.lanes[0])), '-m', 'benchmarks.data', *args]
    proc = subprocess.run(command, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f'{" ".join(command)} failed:\n{proc.stderr[-3000:]}')
    print(proc.stdout.strip(), flush=True)


def describe(result: dict[str, Any]) -> str:
    if 'error' in result:
        return f'ERROR {result["error"]}'
    case = result['case']
    if case == 'train_eval_predict':
        return (
            f'call {result["call_s"]} s, set-up {result["setup_s"]} s, steady '
            f'{result["steady_steps_per_s"]} steps/s, {result["steady_examples_per_s"]} ex/s'
        )
    if case == 'batch_inference':
        return f'{result["examples_per_s"]} ex/s, peak RSS {result["peak_rss_mb"]} MiB'
    if case == 'batch_stages':
        return f'{result["examples_per_s"]} ex/s, µs per example {result["per_record_us"]}'
    if case == 'protobuf_costs':
        seed, env = result['graphs']['seed'], result['environment']
        return (
            f'protobuf {env["protobuf"]} ({env["protobuf_implementation"]}): GraphDef serialize '
            f'{seed["serialize_graph_def_ms"]} ms, parse {seed["parse_graph_def_ms"]} ms; '
            f'PredictionLog {result["prediction_log_us"]} µs'
        )
    return f'total {result["total_s"]} s, work {result["work_s"]} s'


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the tree had changes (None: unknown).

    The Debian 13 userland has no git; there the commit is read from `.git` and whether the tree
    was clean is not known.
    """

    def git(*args: str) -> str:
        proc = subprocess.run(['git', *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    try:
        # The run's own outputs (BENCHMARKS.md, results/) are no change to what was measured.
        changes = git('status', '--porcelain', '--', '.', ':!BENCHMARKS.md', ':!benchmarks/results')
        return {'commit': git('rev-parse', 'HEAD'), 'dirty': bool(changes)}
    except FileNotFoundError:
        return {'commit': _head_from_files(REPO_ROOT / '.git'), 'dirty': None}


def _head_from_files(git_dir: pathlib.Path) -> str:
    """HEAD's commit, read from the files of a `.git` directory; '' if it cannot be read."""
    try:
        head = (git_dir / 'HEAD').read_text().strip()
        if not head.startswith('ref: '):
            return head
        ref = head[len('ref: ') :]
        if (git_dir / ref).is_file():
            return (git_dir / ref).read_text().strip()
        for line in (git_dir / 'packed-refs').read_text().splitlines():
            if line.endswith(' ' + ref):
                return line.split(' ', 1)[0]
    except OSError:
        pass
    return ''


def run_all(plan: Plan, json_path: pathlib.Path) -> dict[str, Any]:
    """Runs the plan's jobs; the raw results are written to `json_path` as they come."""
    jobs: list[Job] = []
    if 'protobuf' in plan.cases:
        jobs += protobuf_jobs(plan)
    if 'estimator' in plan.cases:
        jobs += estimator_jobs(plan)
    if 'batch' in plan.cases:
        prepare_data(plan)
        jobs += batch_jobs(plan) + stage_jobs(plan)
    if 'pipeline' in plan.cases:
        jobs += pipeline_jobs(plan)
    compile_bytecode([env for env, _, _, _ in jobs])
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    results: dict[str, Any] = {
        'meta': {
            'started': started.isoformat(timespec='seconds'),
            'plan': dataclasses.asdict(plan),
            'machine': machine_facts(),
            'git': git_state(),
        },
        'runs': [],
    }
    for index, (env, module, args, tags) in enumerate(jobs, 1):
        result = run_case(env, module, args)
        result.update(tags)
        results['runs'].append(result)
        print(
            f'[{index}/{len(jobs)}] {env}: {module} {" ".join(args)}: {describe(result)}',
            flush=True,
        )
        _write_json(json_path, results)  # an interrupted run keeps what it measured
    finished = datetime.datetime.now(datetime.timezone.utc)
    results['meta'].update(
        duration_s=round((finished - started).total_seconds(), 1),
        loadavg_1m={'start': round(load_start, 2), 'end': round(os.getloadavg()[0], 2)},
    )
    return results


def _write_json(path: pathlib.Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + '.tmp')
    temporary.write_text(json.dumps(results, indent=1, sort_keys=True) + '\n')
    temporary.replace(path)


def check_environments(plan: Plan) -> None:
    """Stops with what to do when an environment of the plan is missing or cannot run here."""
    envs = [*plan.lanes, REFERENCE] if {'estimator', 'protobuf'} & set(plan.cases) else plan.lanes
    for env in envs:
        if not python(env).exists():
            sys.exit(f'{python(env)} is missing: run `make setup` first.')
    version = tuple(int(part) for part in glibc().split('.')[:2] if part.isdigit())
    if 'latest' in plan.lanes and version < LATEST_GLIBC:
        sys.exit(
            f'The latest lane needs glibc >= {".".join(map(str, LATEST_GLIBC))} and this runs on '
            f'glibc {glibc() or "unknown"}. Run the benchmarks through the lane, as `make bench` '
            'does: tools/lane latest .venv-legacy/bin/python -m benchmarks.run; or measure the '
            'legacy lane alone with --lanes legacy.'
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='small sizes, one run each')
    parser.add_argument(
        '--control',
        action='store_true',
        help='ours on TF 2.15 for every estimator measurement, not train only',
    )
    parser.add_argument(
        '--repeats', type=int, help='runs per measurement, on every lane (default 5; batch 3)'
    )
    parser.add_argument('--cases', help='comma-separated: estimator,batch,pipeline,protobuf')
    parser.add_argument('--lanes', help=f'comma-separated: {",".join(LANES)} [both]')
    parser.add_argument('--json', help='results file [results/latest.json; quick.json]')
    parser.add_argument('--markdown', help='report file [BENCHMARKS.md; results/quick.md]')
    parser.add_argument('--report-only', action='store_true', help='rewrite the report only')
    args = parser.parse_args(argv)
    default_json = RESULTS_DIR / ('quick.json' if args.quick else 'latest.json')
    default_md = RESULTS_DIR / 'quick.md' if args.quick else REPO_ROOT / 'BENCHMARKS.md'
    json_path = pathlib.Path(args.json) if args.json else default_json
    md_path = pathlib.Path(args.markdown) if args.markdown else default_md
    if args.report_only:
        results = json.loads(json_path.read_text())
    else:
        plan = make_plan(args)
        check_environments(plan)
        results = run_all(plan, json_path)
    results['summary'] = report.summarize(results['runs'])
    if not args.report_only:
        _write_json(json_path, results)
    markdown = report.render(results)
    md_path.write_text(markdown)
    # The tables, without the notes on what limits each case (those are in the file).
    print('\n' + markdown.split(findings.LIMITS_HEADING, 1)[0].rstrip() + '\n')
    written = f'{md_path} from {json_path}' if args.report_only else f'{json_path} and {md_path}'
    print(f'Wrote {written} ({results["meta"]["duration_s"]} s of runs).')


if __name__ == '__main__':
    main()
