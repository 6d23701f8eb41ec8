"""The tables of BENCHMARKS.md, from the medians `report.summarize` makes. Standard library only.

Every table shows ours on each lane side by side (legacy, then latest), so a reader compares
the lanes row by row; ratios are always of one lane against its baseline (the original, stock
BulkInferrer on the same lane, the bare loop on the same lane), never across lanes.
"""

from __future__ import annotations

from typing import Any

from benchmarks import findings
from benchmarks.common import REFERENCE


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
        text = fmt(entry['median'][metric])
        if entry['runs'] > 1:
            text += f' ({fmt(entry["min"][metric])}-{fmt(entry["max"][metric])})'
        return text

    def fact(self, lane: str, name: str) -> Any:
        """A fact of a lane's environment (`tensorflow`, `protobuf`, ...), from any of its runs."""
        for entry in self.entries:
            if entry.get('lane') == lane and entry.get(name):
                return entry[name]
        return None


def fmt(value: float | None) -> str:
    if value is None:
        return '-'
    if abs(value) >= 1000:
        return f'{value:,.0f}'
    if abs(value) >= 100:
        return f'{value:.0f}'
    if abs(value) >= 10:
        return f'{value:.1f}'
    return f'{value:.2f}'


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def ratio_text(value: float | None) -> str:
    return '-' if value is None else f'x{value:.2f}'


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return lines + ['| ' + ' | '.join(row) + ' |' for row in rows]


def tf_text(look: Lookup, lane: str) -> str:
    """`TF 2.16`: the major.minor TensorFlow a lane's runs reported."""
    version = look.fact(lane, 'tensorflow')
    return f'TF {".".join(str(version).split(".")[:2])}' if version else 'TF ?'


def lane_title(look: Lookup, lane: str) -> str:
    """`legacy lane (TF 2.16)`; for REFERENCE, ours on the original's TensorFlow."""
    if lane == REFERENCE:
        return f'ours on {tf_text(look, lane)} (control)'
    return f'{lane} lane ({tf_text(look, lane)})'


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


def estimator_table(
    look: Lookup, model: str, whats: tuple[str, ...], lanes: list[str]
) -> list[str]:
    """Ours on each lane, the original, the control if run; each lane's ratio to the original."""
    case = 'train_eval_predict'
    columns = [('ours', lane, f'ours, {lane_title(look, lane)}') for lane in lanes]
    columns.append(('original', REFERENCE, f'original ({tf_text(look, REFERENCE)})'))
    if look.entry(case, model=model, label='ours', lane=REFERENCE) is not None:
        columns.append(('ours', REFERENCE, lane_title(look, REFERENCE)))
    header = ['measure', *(text for _, _, text in columns)]
    header += [f'{lane} ÷ original' for lane in lanes] + ['better']
    rows = []
    for what, metric, text, better in ESTIMATOR_ROWS:
        if what not in whats:
            continue
        key = {'model': model, 'what': what}
        original = look.median(case, metric, label='original', lane=REFERENCE, **key)
        row = [text]
        row += [
            look.spread(case, metric, label=label, lane=env, **key) for label, env, _ in columns
        ]
        row += [
            ratio_text(ratio(look.median(case, metric, label='ours', lane=lane, **key), original))
            for lane in lanes
        ]
        rows.append([*row, better])
    return table(header, rows)


BATCH_LABELS = (
    ('batch_predictor', 'BatchPredictor (ours, Beam DirectRunner)'),
    ('batch_predictor_parquet', 'BatchPredictor writing Parquet rows instead of PredictionLogs'),
    (
        'batch_predictor_two_workers',
        'BatchPredictor, two DirectRunner workers (`multi_threading`, one model shared)',
    ),
    ('bulk_inferrer', 'stock BulkInferrer (tfx-bsl RunInference)'),
    ('bare', 'bare Session.run loop, records in memory'),
)


def batch_table(look: Lookup, sizes: tuple[int, ...], lanes: list[str]) -> list[str]:
    """Per size and path, one row per lane, side by side."""
    header = ['examples', 'path', 'lane', 'examples/s', 'timed s', 'examples/s without the sdist']
    header += ["TFX's sdist, s", 'peak RSS MiB', 'RSS growth in the run, MiB', 'cores busy']
    rows = []
    for n in sizes:
        for label, text in BATCH_LABELS:
            for lane in lanes:
                key = {'n': n, 'label': label, 'lane': lane}
                if look.entry('batch_inference', **key):
                    rows.append([f'{n:,}', text, lane_title(look, lane), *_batch_cells(look, key)])
        for lane in lanes:
            key = {'n': n, 'label': 'bare', 'lane': lane}
            with_read = look.median('batch_inference', 'with_read_examples_per_s', **key)
            if with_read is None:
                continue
            entry = look.entry('batch_inference', **key) or {}
            low, high = (entry[edge].get('bare_best_batch_size') for edge in ('min', 'max'))
            best = fmt(low) if low == high else f'{fmt(low)} or {fmt(high)} by run'
            text = f'bare, including reading the files (batch {best})'
            rows.append([f'{n:,}', text, lane_title(look, lane), fmt(with_read), *[''] * 6])
    return table(header, rows)


def _batch_cells(look: Lookup, key: dict[str, Any]) -> list[str]:
    peak = look.median('batch_inference', 'peak_rss_mb', **key)
    before = look.median('batch_inference', 'rss_before_work_mb', **key)
    executor = key['label'] != 'bare'
    return [
        look.spread('batch_inference', 'examples_per_s', **key),
        look.spread('batch_inference', 'timed_s', **key),
        look.spread('batch_inference', 'examples_per_s_without_sdist', **key) if executor else '-',
        look.spread('batch_inference', 'beam_sdist_s', **key) if executor else '-',
        look.spread('batch_inference', 'peak_rss_mb', **key),
        fmt(None if peak is None or before is None else peak - before),
        look.spread('batch_inference', 'cores_used', **key),
    ]


STAGE_TEXT = {
    'read': 'read gzip TFRecords into batches of records (`_ReadBatchesFn`)',
    'predict': 'run the signature (`SignatureRunner.run`, parsing in the graph)',
    'encode': 'encode PredictionLogs (`LogFormat.encode`)',
    'frame': 'TFRecord framing with CRC32C (`_tfrecord`)',
    'gzip': 'gzip at level 1 (`_GzipFile`)',
}


def stages_table(look: Lookup, lanes: list[str]) -> list[str]:
    entries = [e for e in look.entries if e['case'] == 'batch_stages']
    if not entries:
        return ['(not run)']
    rows = [
        [STAGE_TEXT[s], *(look.spread('batch_stages', f'us:{s}', lane=lane) for lane in lanes)]
        for s in findings.STAGES
    ]
    rates = [findings.stage_sum_rate(look, lane) for lane in lanes]
    rows.append(
        [
            '**sum: one thread, no Beam**',
            *(f'{1e6 / rate:.1f} ({rate:,.0f} examples/s)' if rate else '-' for rate in rates),
        ]
    )
    batch = entries[0]['median'].get('batch_size', 1024)  # older results did not record it
    return [
        f'{entries[0]["n"]:,} examples, batches of {batch:,.0f}, each stage timed alone in a plain'
        ' loop (`benchmarks/cases/batch_stages.py`), µs per example:',
        '',
        *table(['stage', *(lane_title(look, lane) for lane in lanes)], rows),
    ]


def pipeline_table(look: Lookup, lanes: list[str]) -> list[str]:
    entries = [look.entry('pipeline_overhead', label='sme_run', lane=lane) for lane in lanes]
    if not any(entries):
        return ['(not run)']

    def row(text: str, metric: str) -> list[str]:
        return [text, *(look.spread('pipeline_overhead', metric, lane=lane) for lane in lanes)]

    rows = [
        row('whole `sme run`, first run (every stage executes)', 'total_s'),
        row('  orchestration (TFX, ML Metadata, drivers, summary)', 'orchestration_s'),
        row("  TFX's sdist of itself for Beam executors", 'beam_sdist_s'),
        row('  executors, their own work', 'work_s'),
        ["  per executor (the Beam ones' sdist included):", *[''] * len(lanes)],
    ]
    executors = sorted({name for e in entries if e for name in e['median'] if ':' in name})
    rows += [row(f'    {name.split(":", 1)[1]}', name) for name in executors]
    rows += [
        row('second run, every stage cached (orchestration only)', 'cached_total_s'),
        row('process wall time, both runs, from process start', 'process_wall_s'),
        row('  of which imports (TF, TFX, the CLI)', 'import_s'),
    ]
    header = ['part', *(f'{lane_title(look, lane)}, s' for lane in lanes)]
    return table(header, rows)
