"""Medians of the runs, and BENCHMARKS.md from them. Standard library only.

The tables are in `tables.py`; the targets and the hand-written notes in `findings.py`; the two
lanes compared from this run's numbers in `lanes.py`.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from benchmarks import findings, lanes, tables
from benchmarks.common import LANES, REFERENCE, REPO_ROOT, VENVS

# How runs are grouped, and the numbers whose median each group reports.
GROUP_FIELDS = {
    'train_eval_predict': ('model', 'what', 'label', 'lane'),
    'batch_inference': ('n', 'label', 'lane'),
    'pipeline_overhead': ('label', 'lane'),
    'batch_stages': ('n', 'label', 'lane'),
    'protobuf_costs': ('label', 'lane'),
}
METRICS = {
    'train_eval_predict': (
        'call_s',
        'setup_s',
        'teardown_s',
        'steady_steps_per_s',
        'steady_examples_per_s',
        'call_examples_per_s',
        'process_wall_s',
    ),
    'batch_inference': (
        'examples_per_s',
        'examples_per_s_without_sdist',
        'timed_s',
        'work_s',
        'beam_sdist_s',
        'peak_rss_mb',
        'rss_before_work_mb',
        'with_read_examples_per_s',
        'bare_best_batch_size',
        'cpu_s',
        'cores_used',
        'cpus_usable',
        'process_wall_s',
    ),
    'pipeline_overhead': (
        'total_s',
        'orchestration_s',
        'beam_sdist_s',
        'work_s',
        'cached_total_s',
        'import_s',
        'peak_rss_mb',
        'process_wall_s',
    ),
    'batch_stages': ('examples_per_s', 'output_mb', 'batch_size', 'process_wall_s'),
    'protobuf_costs': ('prediction_log_us', 'process_wall_s'),
}
# Facts of the environment each group reports (from its first run).
ENVIRONMENT_FIELDS = ('python', 'tensorflow', 'protobuf', 'protobuf_implementation')


def _numbers(run: dict[str, Any]) -> dict[str, float]:
    values = {k: run[k] for k in METRICS[run['case']] if isinstance(run.get(k), (int, float))}
    if run['case'] == 'pipeline_overhead':
        for node, seconds in run['runs']['first']['executors_s'].items():
            values[f'executor:{node}'] = seconds
    if run['case'] == 'batch_stages':
        for stage, micros in run['per_record_us'].items():
            values[f'us:{stage}'] = micros
    if run['case'] == 'protobuf_costs':
        for model, costs in run['graphs'].items():
            values.update({f'{model}:{name}': value for name, value in costs.items()})
    return values


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per group: run and error counts, and the median, min and max of each number."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    errors: dict[str, int] = {}
    for run in runs:
        if 'error' in run:
            name = f'{run.get("lane", "?")}: ' + ' '.join(run.get('command', [])[2:])
            errors[name] = errors.get(name, 0) + 1
            continue
        key = (run['case'], *(run.get(f) for f in GROUP_FIELDS[run['case']]))
        groups.setdefault(key, []).append(run)
    summary = []
    for key, members in groups.items():
        numbers = [_numbers(m) for m in members]
        names = sorted({name for n in numbers for name in n})
        columns = {name: [n[name] for n in numbers if name in n] for name in names}
        environment = members[0].get('environment', {})
        summary.append(
            {
                'case': key[0],
                **dict(zip(GROUP_FIELDS[key[0]], key[1:], strict=True)),
                'runs': len(members),
                'median': {k: round(statistics.median(v), 4) for k, v in columns.items()},
                'min': {k: min(v) for k, v in columns.items()},
                'max': {k: max(v) for k, v in columns.items()},
                **{field: environment.get(field) for field in ENVIRONMENT_FIELDS},
                'loadavg_1m': statistics.median(
                    m['environment'].get('loadavg_1m', 0) for m in members
                ),
            }
        )
    if errors:
        summary.append({'case': 'errors', 'failed': errors})
    return summary


def render(results: dict[str, Any]) -> str:
    """BENCHMARKS.md from a results file."""
    meta = results['meta']
    plan = meta['plan']
    look = tables.Lookup(results['summary'])
    shown = [lane for lane in LANES if lane in plan.get('lanes', LANES)]
    lines = _heading(meta, plan)
    lines += _environment_section(meta, plan, results['runs'], shown)
    lines += [
        '## Targets',
        '',
        'Each target is judged on each lane: ours on that lane against the original, and '
        "BatchPredictor against stock BulkInferrer and the bare loop on the same lane's stack.",
        '',
        *tables.table(
            ['target', 'lane', 'measured (medians)', 'status'], _target_rows(look, plan, shown)
        ),
        '',
    ]
    if 'estimator' in plan['cases']:
        lines += _estimator_section(look, plan, shown)
    if 'batch' in plan['cases']:
        lines += [
            '## 3. Batch inference: dnn_classifier_wide over generated tf.Examples',
            '',
            'Same Model artifact, same gzip TFRecords (`benchmarks/data.py`: the eval rows '
            'repeated and jittered, 4 shards), PredictionLogs out, Beam DirectRunner '
            '`in_memory` with one worker for both executors, on each lane with its own TFX, '
            'tfx-bsl and Beam (the two-worker row excepted); BatchPredictor alone at the '
            'largest size, once per lane, for the memory target. RSS growth is peak RSS minus '
            "RSS after imports; cores busy is the run's CPU time over its wall time.",
            '',
            *tables.batch_table(look, _batch_sizes(plan), shown),
            '',
            *tables.stages_table(look, shown),
            '',
        ]
    if 'pipeline' in plan['cases']:
        lines += [
            '## 4. Pipeline overhead: `sme run` on dnn_classifier_seed '
            f'({plan["pipeline_train_steps"]} train steps)',
            '',
            *tables.pipeline_table(look, shown),
            '',
        ]
    lines += lanes.section(look, shown, tuple(plan.get('batch_sizes_n', ())))
    lines += ['', *findings.LIMITS_MARKDOWN.strip().splitlines()]
    errors = look.entry('errors')
    if errors:
        lines += ['', '## Failed runs', '']
        lines += [f'- `{name}`: {count}' for name, count in errors['failed'].items()]
    return '\n'.join(lines) + '\n'


def _heading(meta: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    dirty = {True: ' with uncommitted changes', None: ' (uncommitted changes: not known)'}
    lines = [
        '# Benchmarks',
        '',
        f'Generated by `make bench` (`python -m benchmarks.run{" --quick" if plan["quick"] else ""}`)'
        f' on {meta["started"]}, commit {meta["git"]["commit"][:10]}'
        f'{dirty.get(meta["git"]["dirty"], "")}; '
        f'{meta["duration_s"] / 60:.1f} min of runs. Rerun it rather than editing this file.',
        '',
    ]
    if plan['quick']:
        lines += [
            '> **Quick smoke run**: one run per measurement, small sizes (train '
            f'{plan["train_steps"]} steps, {", ".join(map(str, plan["batch_sizes_n"]))} examples).'
            ' The numbers show that every case works, not how fast anything is.',
            '',
        ]
    lines += [
        'Run: `make bench` (`tools/lane latest .venv-legacy/bin/python -m benchmarks.run`; '
        '`--quick` for a smoke run, `--control` for ours on TF 2.15 in every estimator '
        'measurement, `--cases estimator,batch,pipeline,protobuf`, `--lanes legacy` where the '
        'latest lane cannot run). Raw runs and medians: `benchmarks/results/latest.json`. Each '
        'case also runs alone, on either lane, e.g. `tools/lane latest .venv-latest/bin/python '
        '-m benchmarks.cases.batch_inference --impl batch_predictor --n 200000 --profile '
        '/tmp/bp.txt`.',
        '',
    ]
    return lines


def _environment_section(
    meta: dict[str, Any], plan: dict[str, Any], runs: list[dict[str, Any]], shown: list[str]
) -> list[str]:
    machine = meta['machine']
    where = (
        f'glibc {machine.get("glibc") or "?"}'
        + (
            f', in the Debian 13 userland of `tools/lane latest` ({machine["userland"]})'
            if machine.get('userland')
            else ''
        )
        + ': every environment below ran there'
    )
    lines = [
        '## Machine and environments',
        '',
        f'- Machine: {machine["cpu_model"] or "unknown CPU"}, {machine["cpu_count"]} cores '
        f'({machine["cpus_usable"]} usable), {machine["memory_gib"]} GiB; {machine["platform"]}; '
        f'{where}.',
        f'- Load average (1 min) at start / end: {meta["loadavg_1m"]["start"]} / '
        f'{meta["loadavg_1m"]["end"]}; median during runs of each case is in results JSON. Load '
        'above the core count means other processes shared the CPUs, and the numbers are noisy.',
    ]
    lines += [f'- {line}' for line in _environments(runs)]
    lines.append(f'- Repeats: {_repeats_text(plan, shown)}')
    lines.append('')
    return lines


def _runs(count: int) -> str:
    return f'{count} run{"" if count == 1 else "s"}'


def _repeats_text(plan: dict[str, Any], shown: list[str]) -> str:
    long = plan.get('long_batch_repeats', plan['batch_repeats'])
    text = (
        f'{_runs(plan["repeats"])} per estimator measurement (ours on each lane and the original '
        f'side by side, in turn), {_runs(plan["batch_repeats"])} per batch-inference measurement '
        f'({long} for stock BulkInferrer and the Parquet variant at the largest size)'
    )
    reduced = plan.get('reduced_lane')
    if reduced in shown and len(shown) > 1:
        others = ' and '.join(f'the {lane} lane' for lane in shown if lane != reduced)
        text += (
            f' on {others} and the original; the {reduced} lane repeats less, to keep the run '
            f'near 25 minutes: {_runs(plan["reduced_repeats"])} per estimator measurement, '
            f'{plan["reduced_batch_repeats"]} per batch-inference measurement '
            f'({plan["reduced_long_batch_repeats"]} at the largest size for stock BulkInferrer '
            'and the Parquet variant)'
        )
    return (
        f'{text}; {_runs(plan["pipeline_repeats"])} of the pipeline per lane. Each run is a fresh '
        'process. Cells show the median, and (min-max) when there is more than one run.'
    )


def _estimator_section(look: tables.Lookup, plan: dict[str, Any], shown: list[str]) -> list[str]:
    lines = [
        '## 1-2. Continue training, evaluate, predict: ours vs the original SavedModelEstimator',
        '',
        'Same export, same input function (tf.data, records cached in memory), fresh '
        "`model_dir` per run. train: the timed call is the process's first, "
        f'`train(steps={plan["train_steps"]})`; the steady state is from a second call on the '
        f'same estimator, `train(steps={plan.get("steady_steps", 0)})`, after its first '
        f"{plan['skip_steps']} steps (without it: the first call's); evaluate and predict: "
        'the eval rows repeated (wide: 10x4096 rows, seed: 100x300), `predict` yielding single '
        'examples. Ratios are each lane against the original; "better" says which way.',
        '',
    ]
    for model, text in (
        ('wide', 'dnn_classifier_wide (DNN [256, 256], batch 256)'),
        ('seed', 'dnn_classifier_seed (small, batch 32)'),
    ):
        table = tables.estimator_table(look, model, tuple(plan['whats']), shown)
        lines += [f'### {text}', '', *table, '']
    return lines


def _batch_sizes(plan: dict[str, Any]) -> tuple[int, ...]:
    """Every size batch inference ran at: the compared ones, then BatchPredictor's alone."""
    return (*plan['batch_sizes_n'], *plan.get('memory_sizes_n', ()))


def _target_rows(look: tables.Lookup, plan: dict[str, Any], shown: list[str]) -> list[list[str]]:
    """Rows per target and lane: the medians it was judged on, met or not; controls beside."""
    rows = []
    sizes = tuple(plan['batch_sizes_n'])
    for target, check, has_control in findings.TARGETS:
        for lane in shown:
            measured, met = check(look, sizes, lane)
            status = {True: 'met', False: '**not met**', None: 'not measured'}[met]
            rows.append([target, tables.lane_title(look, lane), measured, status])
        if has_control:
            measured, met = check(look, sizes, REFERENCE)
            if met is not None:
                rows.append([target, tables.lane_title(look, REFERENCE), measured, '(control)'])
    return rows


def _environments(runs: list[dict[str, Any]]) -> list[str]:
    """One line per environment: its lane, Python, TF, protobuf, TFX, Beam, threads."""
    seen: dict[str, dict[str, Any]] = {}
    for run in runs:
        env = run.get('environment')
        if env:  # later runs fill in what earlier ones lacked (TFX is imported by some cases)
            merged = seen.setdefault(env['executable'], {})
            merged.update({k: v for k, v in env.items() if v is not None and k not in merged})
    roles = {VENVS[lane]: f'ours, {lane} lane' for lane in LANES}
    roles[VENVS[REFERENCE]] = 'the original SavedModelEstimator, and ours as a control'
    lines = []
    for executable, env in sorted(seen.items()):
        venv = os.path.relpath(executable, REPO_ROOT).split(os.sep)[0]
        installed = env.get('installed', {})
        stack = [
            f'Python {env.get("python")}',
            f'TensorFlow {env.get("tensorflow")}',
            f'protobuf {env.get("protobuf")} ({env.get("protobuf_implementation")})',
        ]
        for name, title in (('tfx', 'TFX'), ('tfx-bsl', 'tfx-bsl'), ('apache-beam', 'Beam')):
            if installed.get(name):
                stack.append(f'{title} {installed[name]}')
        threads = (
            f'intra-op {env.get("tf_intra_op_threads")}, inter-op {env.get("tf_inter_op_threads")}'
        )
        lines.append(
            f'`{venv}` ({roles.get(venv, "other")}): {", ".join(stack)}; TF threads {threads} '
            f'(0: TensorFlow picks, one per core); thread variables '
            f'{env.get("thread_env") or "none"}'
        )
    return lines
