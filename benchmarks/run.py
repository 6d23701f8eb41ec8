"""`make bench`: every case in fresh processes of the right environment, interleaved; medians.

    python -m benchmarks.run             # full: results/latest.json and BENCHMARKS.md (~15-20 min)
    python -m benchmarks.run --quick     # smoke: small sizes, one run each -> results/quick.*
    python -m benchmarks.run --report-only   # rewrite the markdown from the JSON

Ours runs in `.venv` (TF 2.16), the original SavedModelEstimator in `.venv-reference` (TF 2.15),
alternating A B A B so drifting load on the machine hits both alike. Ours also runs in
`.venv-reference` (TF 2.15) as a control, which tells TensorFlow-version effects apart from the
implementation's, and in `.venv-tf-latest` (TF 2.21, the core alone): for train by default, for
every measurement with `--control`.
Only the standard library is needed here; the cases import TensorFlow in their own processes.
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
from benchmarks.common import DATA_DIR, REPO_ROOT, RESULT_PREFIX, RESULTS_DIR, machine_facts

MAIN = REPO_ROOT / '.venv' / 'bin' / 'python'
REFERENCE = REPO_ROOT / '.venv-reference' / 'bin' / 'python'
LATEST = REPO_ROOT / '.venv-tf-latest' / 'bin' / 'python'  # the core alone, on the newest TF
TIMEOUT_S = 1200
PYCACHE = DATA_DIR / 'pycache'


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one benchmark run covers."""

    quick: bool
    repeats: int
    batch_repeats: int
    pipeline_repeats: int
    # Stock BulkInferrer (over a minute a run) and the Parquet variant at the largest size run
    # this many times (at most batch_repeats), to keep `make bench` under 20 minutes.
    long_batch_repeats: int = 2
    models: tuple[str, ...] = ('wide', 'seed')
    whats: tuple[str, ...] = ('train', 'evaluate', 'predict')
    train_steps: int = 200
    skip_steps: int = 20
    steady_steps: int = 400
    batch_sizes_n: tuple[int, ...] = (20000, 200000)
    pipeline_train_steps: int = 100
    control_whats: tuple[str, ...] = ('train',)
    cases: tuple[str, ...] = ('estimator', 'batch', 'pipeline')


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(
            quick=True,
            repeats=1,
            batch_repeats=1,
            pipeline_repeats=1,
            train_steps=60,
            skip_steps=10,
            steady_steps=100,
            batch_sizes_n=(2000, 20000),
            pipeline_train_steps=20,
            control_whats=(),
        )
    else:
        plan = Plan(quick=False, repeats=5, batch_repeats=3, pipeline_repeats=1)
    changes: dict[str, Any] = {}
    if args.control:
        changes['control_whats'] = plan.whats
    if args.repeats:
        changes.update(
            repeats=args.repeats, batch_repeats=args.repeats, long_batch_repeats=args.repeats
        )
    if args.cases:
        changes['cases'] = tuple(args.cases.split(','))
    return dataclasses.replace(plan, **changes)


def _env() -> dict[str, str]:
    """The cases' environment: quiet TF, and compiled bytecode kept in benchmarks/.data.

    `make setup` installs `.venv` without bytecode and the Makefile sets PYTHONDONTWRITEBYTECODE,
    so every process would compile TensorFlow's and TFX's sources again (`import tensorflow`
    10-11 s instead of ~5 s here). A private cache keeps that out of every run's wall time.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPYCACHEPREFIX=str(PYCACHE))
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return env


def run_case(python: pathlib.Path, module: str, args: list[str]) -> dict[str, Any]:
    """Runs one case in a fresh process; its result line, or an error record."""
    command = [str(python), '-m', f'benchmarks.cases.{module}', *args]
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


def estimator_jobs(plan: Plan) -> list[tuple[pathlib.Path, str, list[str], dict]]:
    impls = [(MAIN, 'ours', 'ours'), (REFERENCE, 'original', 'original')]
    control = [(REFERENCE, 'ours', 'ours_tf_reference'), (LATEST, 'ours', 'ours_tf_latest')]
    jobs = []
    for _ in range(plan.repeats):
        for model in plan.models:
            for what in plan.whats:
                # A B A B: neighbours share the machine's load. The controls (ours on the
                # original's TensorFlow, and on the newest) tell TF-version effects from the
                # implementation's.
                runs = impls + (control if what in plan.control_whats else [])
                for python, impl, label in runs:
                    args = ['--impl', impl, '--model', model, '--what', what]
                    args += ['--steps', str(plan.train_steps), '--skip', str(plan.skip_steps)]
                    args += ['--steady-steps', str(plan.steady_steps)]
                    jobs.append((python, 'train_eval_predict', args, {'label': label}))
    return jobs


def batch_jobs(plan: Plan) -> list[tuple[pathlib.Path, str, list[str], dict]]:
    jobs = []
    for repeat in range(plan.batch_repeats):
        for n in plan.batch_sizes_n:
            long = n == max(plan.batch_sizes_n) and repeat >= plan.long_batch_repeats
            for impl in ('batch_predictor', 'bulk_inferrer', 'bare'):
                if impl == 'bulk_inferrer' and long:
                    continue
                args = ['--impl', impl, '--n', str(n)]
                jobs.append((MAIN, 'batch_inference', args, {'label': impl}))
            if n == max(plan.batch_sizes_n) and not long:  # what PredictionLogs cost: rows only
                args = ['--impl', 'batch_predictor', '--n', str(n), '--output-format', 'parquet']
                jobs.append((MAIN, 'batch_inference', args, {'label': 'batch_predictor_parquet'}))
    return jobs


def stage_jobs(plan: Plan) -> list[tuple[pathlib.Path, str, list[str], dict]]:
    args = ['--n', str(max(plan.batch_sizes_n))]
    return [(MAIN, 'batch_stages', args, {'label': 'stages'})]


def pipeline_jobs(plan: Plan) -> list[tuple[pathlib.Path, str, list[str], dict]]:
    args = ['--train-steps', str(plan.pipeline_train_steps)]
    return [(MAIN, 'pipeline_overhead', args, {'label': 'sme_run'})] * plan.pipeline_repeats


def prepare_data(plan: Plan) -> None:
    """Generates the example sets before any timing (deterministic; reused when present)."""
    args = [arg for n in plan.batch_sizes_n for arg in ('--n', str(n))]
    command = [str(MAIN), '-m', 'benchmarks.data', *args]
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
    return f'total {result["total_s"]} s, work {result["work_s"]} s'


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        proc = subprocess.run(['git', *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    # The run's own outputs (BENCHMARKS.md, results/) do not count as changes to what was measured.
    changes = git('status', '--porcelain', '--', '.', ':!BENCHMARKS.md', ':!benchmarks/results')
    return {'commit': git('rev-parse', 'HEAD'), 'dirty': bool(changes)}


def run_all(plan: Plan) -> dict[str, Any]:
    jobs = []
    if 'estimator' in plan.cases:
        jobs += estimator_jobs(plan)
    if 'batch' in plan.cases:
        prepare_data(plan)
        jobs += batch_jobs(plan) + stage_jobs(plan)
    if 'pipeline' in plan.cases:
        jobs += pipeline_jobs(plan)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    runs = []
    for index, (python, module, args, tags) in enumerate(jobs, 1):
        result = run_case(python, module, args)
        result.update(tags)
        runs.append(result)
        print(f'[{index}/{len(jobs)}] {module} {" ".join(args)}: {describe(result)}', flush=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    return {
        'meta': {
            'started': started.isoformat(timespec='seconds'),
            'duration_s': round((finished - started).total_seconds(), 1),
            'plan': dataclasses.asdict(plan),
            'machine': machine_facts(),
            'loadavg_1m': {'start': round(load_start, 2), 'end': round(os.getloadavg()[0], 2)},
            'git': git_state(),
        },
        'runs': runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='small sizes, one run each')
    parser.add_argument(
        '--control',
        action='store_true',
        help='ours on TF 2.15 and 2.21 for every measurement, not train only',
    )
    parser.add_argument('--repeats', type=int, help='runs per measurement (default 5; batch 3)')
    parser.add_argument('--cases', help='comma-separated: estimator,batch,pipeline')
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
        for python in (MAIN, REFERENCE, LATEST):
            if not python.exists():
                sys.exit(f'{python} is missing: run `make setup` first.')
        results = run_all(make_plan(args))
    results['summary'] = report.summarize(results['runs'])
    if not args.report_only:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1, sort_keys=True) + '\n')
    markdown = report.render(results)
    md_path.write_text(markdown)
    # The tables, without the notes on what limits each case (those are in the file).
    print('\n' + markdown.split(findings.LIMITS_HEADING, 1)[0].rstrip() + '\n')
    print(f'Wrote {json_path} and {md_path} ({results["meta"]["duration_s"]} s of runs).')


if __name__ == '__main__':
    main()
