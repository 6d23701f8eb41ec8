"""Medians of the runs, the targets, and BENCHMARKS.md. Standard library only."""

from __future__ import annotations

import os
import statistics
from typing import Any

from benchmarks import findings
from benchmarks.common import REPO_ROOT

# How runs are grouped, and the numbers whose median each group reports.
GROUP_FIELDS = {
    'train_eval_predict': ('model', 'what', 'label'),
    'batch_inference': ('n', 'label'),
    'pipeline_overhead': ('label',),
    'batch_stages': ('n', 'label'),
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
    'batch_stages': ('examples_per_s', 'output_mb'),
}


def _numbers(run: dict[str, Any]) -> dict[str, float]:
    values = {k: run[k] for k in METRICS[run['case']] if isinstance(run.get(k), (int, float))}
    if run['case'] == 'pipeline_overhead':
        for node, seconds in run['runs']['first']['executors_s'].items():
            values[f'executor:{node}'] = seconds
    if run['case'] == 'batch_stages':
        for stage, micros in run['per_record_us'].items():
            values[f'us:{stage}'] = micros
    return values


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per group: run and error counts, and the median, min and max of each number."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    errors: dict[str, int] = {}
    for run in runs:
        if 'error' in run:
            name = ' '.join(run.get('command', [])[2:])
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
                'tensorflow': environment.get('tensorflow'),
                'loadavg_1m': statistics.median(
                    m['environment'].get('loadavg_1m', 0) for m in members
                ),
            }
        )
    if errors:
        summary.append({'case': 'errors', 'failed': errors})
    return summary


class Lookup:
    """Medians by group, for the tables."""

    def __init__(self, summary: list[dict[str, Any]]) -> None:
        self.entries = summary

    def entry(self, case: str, **key: Any) -> dict[str, Any] | None:
        for entry in self.entries:
            if entry['case'] == case and all(entry.get(k) == v for k, v in key.items()):
                return entry
        return None

    def median(self, case: str, metric: str, **key: Any) -> float | None:
        entry = self.entry(case, **key)
        return entry['median'].get(metric) if entry else None

    def spread(self, case: str, metric: str, **key: Any) -> str:
        """`median (min-max)`, or `-`."""
        entry = self.entry(case, **key)
        if not entry or metric not in entry['median']:
            return '-'
        text = _fmt(entry['median'][metric])
        if entry['runs'] > 1:
            text += f' ({_fmt(entry["min"][metric])}-{_fmt(entry["max"][metric])})'
        return text


def _fmt(value: float | None) -> str:
    if value is None:
        return '-'
    if abs(value) >= 1000:
        return f'{value:,.0f}'
    if abs(value) >= 100:
        return f'{value:.0f}'
    if abs(value) >= 10:
        return f'{value:.1f}'
    return f'{value:.2f}'


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _ratio_text(value: float | None) -> str:
    return '-' if value is None else f'x{value:.2f}'


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return lines + ['| ' + ' | '.join(row) + ' |' for row in rows]


ESTIMATOR_ROWS = (
    (
        'train',
        'steady_steps_per_s',
        'steady-state steps/s (second call, after its first steps)',
        'higher',
    ),
    ('train', 'call_s', 'train(steps=N) wall time, s', 'lower'),
    ('train', 'setup_s', '  of which before the first step, s', 'lower'),
    ('train', 'teardown_s', '  of which after the last step, s', 'lower'),
    ('evaluate', 'steady_examples_per_s', 'evaluate steady-state examples/s', 'higher'),
    ('evaluate', 'call_examples_per_s', 'evaluate whole-call examples/s', 'higher'),
    ('evaluate', 'setup_s', '  set-up before the first batch, s', 'lower'),
    ('evaluate', 'teardown_s', '  after the last batch, s', 'lower'),
    ('predict', 'steady_examples_per_s', 'predict steady-state examples/s', 'higher'),
    ('predict', 'call_examples_per_s', 'predict whole-call examples/s', 'higher'),
    ('predict', 'setup_s', '  set-up before the first batch, s', 'lower'),
    ('predict', 'teardown_s', '  after the last batch, s', 'lower'),
)


CONTROLS = (
    ('ours_tf_reference', 'ours on TF 2.15 (control)'),
    ('ours_tf_latest', 'ours on TF 2.21 (.venv-tf-latest)'),
)


def estimator_table(look: Lookup, model: str, whats: tuple[str, ...]) -> list[str]:
    controls = [
        (label, text)
        for label, text in CONTROLS
        if look.entry('train_eval_predict', model=model, label=label) is not None
    ]
    header = ['measure', 'ours (.venv)', 'original (.venv-reference)', 'ours ÷ original', 'better']
    header[3:3] = [text for _, text in controls]
    rows = []
    for what, metric, label, better in ESTIMATOR_ROWS:
        if what not in whats:
            continue
        key = {'model': model, 'what': what}
        ours = look.median('train_eval_predict', metric, label='ours', **key)
        original = look.median('train_eval_predict', metric, label='original', **key)
        row = [
            label,
            look.spread('train_eval_predict', metric, label='ours', **key),
            look.spread('train_eval_predict', metric, label='original', **key),
            _ratio_text(_ratio(ours, original)),
            better,
        ]
        row[3:3] = [look.spread('train_eval_predict', metric, label=c, **key) for c, _ in controls]
        rows.append(row)
    return _table(header, rows)


BATCH_LABELS = (
    ('batch_predictor', 'BatchPredictor (ours, Beam DirectRunner)'),
    ('batch_predictor_parquet', 'BatchPredictor writing Parquet rows instead of PredictionLogs'),
    ('bulk_inferrer', 'stock BulkInferrer (tfx-bsl RunInference)'),
    ('bare', 'bare Session.run loop, records in memory'),
)


def batch_table(look: Lookup, sizes: tuple[int, ...]) -> list[str]:
    header = ['examples', 'path', 'examples/s', 'timed s', 'examples/s without the sdist']
    header += ["TFX's sdist, s", 'peak RSS MiB', 'RSS growth in the run, MiB']
    rows = []
    for n in sizes:
        for label, text in BATCH_LABELS:
            key = {'n': n, 'label': label}
            if not look.entry('batch_inference', **key):
                continue
            peak = look.median('batch_inference', 'peak_rss_mb', **key)
            before = look.median('batch_inference', 'rss_before_work_mb', **key)
            executor = label != 'bare'
            rows.append(
                [
                    f'{n:,}',
                    text,
                    look.spread('batch_inference', 'examples_per_s', **key),
                    look.spread('batch_inference', 'timed_s', **key),
                    look.spread('batch_inference', 'examples_per_s_without_sdist', **key)
                    if executor
                    else '-',
                    look.spread('batch_inference', 'beam_sdist_s', **key) if executor else '-',
                    look.spread('batch_inference', 'peak_rss_mb', **key),
                    _fmt(None if peak is None or before is None else peak - before),
                ]
            )
        with_read = look.median('batch_inference', 'with_read_examples_per_s', n=n, label='bare')
        best = look.median('batch_inference', 'bare_best_batch_size', n=n, label='bare')
        text = f'bare, including reading the files (batch {_fmt(best)})'
        rows.append([f'{n:,}', text, _fmt(with_read), '', '', '', '', ''])
    return _table(header, rows)


STAGE_TEXT = {
    'read': 'read gzip TFRecords into batches of records (`_ReadBatchesFn`)',
    'predict': 'run the signature (`SignatureRunner.run`, parsing in the graph)',
    'encode': 'encode PredictionLogs (`LogFormat.encode`)',
    'frame': 'TFRecord framing with CRC32C (`_tfrecord`)',
    'gzip': 'gzip at level 1 (`_GzipFile`)',
}


def stages_table(look: Lookup) -> list[str]:
    entry = next((e for e in look.entries if e['case'] == 'batch_stages'), None)
    if entry is None:
        return ['(not run)']
    rows = [[STAGE_TEXT[s], look.spread('batch_stages', f'us:{s}')] for s in findings.STAGES]
    rate = findings.stage_sum_rate(look)
    if rate:
        rows.append(['**sum: one thread, no Beam**', f'{1e6 / rate:.1f} ({rate:,.0f} examples/s)'])
    return [
        f'{entry["n"]:,} examples, batches of 1024, each stage timed alone in a plain loop '
        '(`benchmarks/cases/batch_stages.py`):',
        '',
        *_table(['stage', 'µs per example'], rows),
    ]


def pipeline_table(look: Lookup) -> list[str]:
    entry = look.entry('pipeline_overhead', label='sme_run')
    if not entry:
        return ['(not run)']
    rows = [
        ['whole `sme run`, first run (every stage executes)', look.spread(*_p('total_s'))],
        [
            '  orchestration (TFX, ML Metadata, drivers, summary)',
            look.spread(*_p('orchestration_s')),
        ],
        ["  TFX's sdist of itself for Beam executors", look.spread(*_p('beam_sdist_s'))],
        ['  executors, their own work', look.spread(*_p('work_s'))],
    ]
    rows.append(["  per executor (the Beam ones' sdist included):", ''])
    for name in sorted(entry['median']):
        if name.startswith('executor:'):
            rows.append([f'    {name.split(":", 1)[1]}', look.spread(*_p(name))])
    rows += [
        ['second run, every stage cached (orchestration only)', look.spread(*_p('cached_total_s'))],
        ['process wall time, both runs, from process start', look.spread(*_p('process_wall_s'))],
        ['  of which imports (TF, TFX, the CLI)', look.spread(*_p('import_s'))],
    ]
    return _table(['part', 'seconds'], rows)


def _p(metric: str) -> tuple[str, str]:
    return ('pipeline_overhead', metric)


def _target_rows(look: Lookup, plan: dict[str, Any]) -> list[list[str]]:
    """One row per target: what it asks, the medians it was judged on, met or not."""
    rows = []
    for target, check in findings.TARGETS:
        measured, met = check(look, tuple(plan['batch_sizes_n']))
        status = {True: 'met', False: '**not met**', None: 'not measured'}[met]
        rows.append([target, measured, status])
    return rows


def render(results: dict[str, Any]) -> str:
    """BENCHMARKS.md from a results file."""
    meta = results['meta']
    plan = meta['plan']
    look = Lookup(results['summary'])
    machine = meta['machine']
    envs = _environments(results['runs'])
    lines = [
        '# Benchmarks',
        '',
        f'Generated by `make bench` (`python -m benchmarks.run{" --quick" if plan["quick"] else ""}`)'
        f' on {meta["started"]}, commit {meta["git"]["commit"][:10]}'
        f'{" with uncommitted changes" if meta["git"]["dirty"] else ""}; '
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
        'Run: `make bench` (or `.venv/bin/python -m benchmarks.run`; `--quick` for a smoke run, '
        '`--control` for ours on TF 2.15 and 2.21 everywhere, `--cases estimator,batch,pipeline`). '
        'Raw runs and medians: `benchmarks/results/latest.json`. Each case also runs alone, e.g. '
        '`.venv/bin/python -m benchmarks.cases.batch_inference --impl batch_predictor --n 200000 '
        '--profile /tmp/bp.txt`.',
        '',
        '## Machine and environments',
        '',
        f'- Machine: {machine["cpu_model"] or "unknown CPU"}, {machine["cpu_count"]} cores '
        f'({machine["cpus_usable"]} usable), {machine["memory_gib"]} GiB; {machine["platform"]}.',
        f'- Load average (1 min) at start / end: {meta["loadavg_1m"]["start"]} / '
        f'{meta["loadavg_1m"]["end"]}; median during runs of each case is in results JSON. Load '
        'above the core count means other processes shared the CPUs, and the numbers are noisy.',
    ]
    lines += [f'- {line}' for line in envs]
    lines += [
        f'- Repeats: {plan["repeats"]} runs per estimator measurement (ours and the original '
        f'alternating, A B A B), {plan["batch_repeats"]} per batch-inference measurement '
        f'({plan.get("long_batch_repeats", plan["batch_repeats"])} for stock BulkInferrer and '
        'the Parquet variant at the largest size), '
        f'{plan["pipeline_repeats"]} pipeline runs; each run is a fresh process. Cells show the '
        'median, and (min-max) when there is more than one run.',
        '',
        '## Targets',
        '',
        *_table(['target', 'measured (medians)', 'status'], _target_rows(look, plan)),
        '',
    ]
    if 'estimator' in plan['cases']:
        lines += [
            '## 1-2. Continue training, evaluate, predict: ours vs the original SavedModelEstimator',
            '',
            f'Same export, same input function (tf.data, records cached in memory), fresh '
            f"`model_dir` per run. train: the timed call is the process's first, "
            f'`train(steps={plan["train_steps"]})`; the steady state is from a second call on the '
            f'same estimator, `train(steps={plan.get("steady_steps", 0)})`, after its first '
            f"{plan['skip_steps']} steps (without it: the first call's); evaluate and predict: "
            'the eval rows '
            'repeated (wide: 10x4096 rows, seed: 100x300), `predict` yielding single examples.',
            '',
        ]
        for model, text in (
            ('wide', 'dnn_classifier_wide (DNN [256, 256], batch 256)'),
            ('seed', 'dnn_classifier_seed (small, batch 32)'),
        ):
            lines += [
                f'### {text}',
                '',
                *estimator_table(look, model, tuple(plan['whats'])),
                '',
            ]
    if 'batch' in plan['cases']:
        lines += [
            '## 3. Batch inference: dnn_classifier_wide over generated tf.Examples',
            '',
            'Same Model artifact, same gzip TFRecords (`benchmarks/data.py`: the eval rows '
            'repeated and jittered, 4 shards), PredictionLogs out, Beam DirectRunner '
            '`in_memory` with one worker for both executors. RSS growth is peak RSS minus RSS '
            'after imports.',
            '',
            *batch_table(look, tuple(plan['batch_sizes_n'])),
            '',
            *stages_table(look),
            '',
        ]
    if 'pipeline' in plan['cases']:
        lines += [
            f'## 4. Pipeline overhead: `sme run` on dnn_classifier_seed ({plan["pipeline_train_steps"]} train steps)',
            '',
            *pipeline_table(look),
            '',
        ]
    lines += findings.LIMITS_MARKDOWN.strip().splitlines()
    errors = look.entry('errors')
    if errors:
        lines += ['', '## Failed runs', '']
        lines += [f'- `{name}`: {count}' for name, count in errors['failed'].items()]
    return '\n'.join(lines) + '\n'


def _environments(runs: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, dict[str, Any]] = {}
    for run in runs:
        env = run.get('environment')
        if env and env.get('executable') not in seen:
            seen[env['executable']] = env
    lines = []
    for executable, env in sorted(seen.items()):
        threads = (
            f'intra-op {env.get("tf_intra_op_threads")}, inter-op {env.get("tf_inter_op_threads")}'
        )
        lines.append(
            f'`{os.path.relpath(executable, REPO_ROOT)}`: Python {env.get("python")}, TensorFlow '
            f'{env.get("tensorflow")}, TF threads {threads} (0: TensorFlow picks, one per core)'
            f'; thread variables {env.get("thread_env") or "none"}'
            + (f'; Beam {env["apache_beam"]}, TFX {env["tfx"]}' if 'apache_beam' in env else '')
        )
    return lines
