"""The two lanes compared, written from this run's medians: two tables and what they say.

The lanes differ in Python, TensorFlow, TFX, Beam and protobuf at once, so a difference between
them is their stacks'; only `protobuf_costs` isolates protobuf. "protobuf 6 should make graph
set-up and PredictionLog encoding cheaper" is checked here against the numbers, not assumed: every
sentence is generated from this run's medians, so none can outlive the numbers it describes.
Standard library only.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import REFERENCE
from benchmarks.tables import Lookup, fmt, lane_title, ratio, table

HEADING = '## The two lanes compared (measured in this run)'
LEGACY, LATEST = 'legacy', 'latest'
# Within this of each other, two medians are called the same: neighbouring runs on this shared
# machine differ by more (see the min-max ranges in the tables).
SAME = 0.05

GRAPH_ROWS = (
    ('parse_saved_model_ms', 'parse `saved_model.pb` ({model}, {saved_model_kb:.0f} KB), ms'),
    ('serialize_graph_def_ms', 'serialize the train GraphDef ({model}, {graph_def_kb:.0f} KB), ms'),
    ('parse_graph_def_ms', 'parse the train GraphDef ({model}), ms'),
)


def section(look: Lookup, lanes: list[str], sizes: tuple[int, ...]) -> list[str]:
    lines = [HEADING, '']
    if lanes != [LEGACY, LATEST]:
        return [*lines, f'Only the {", ".join(lanes)} lane ran: nothing to compare.']
    lines += [
        'The lanes differ in Python, TensorFlow, TFX, Beam and protobuf at once: a difference '
        "between them is their stacks', and only the first table isolates protobuf. Everything "
        "in this section is written from this run's medians (ratios latest ÷ legacy; below x1 "
        'is less time or cost on the latest lane).',
        '',
        *protobuf_table(look),
        '',
        *stack_table(look, sizes),
        '',
        *_graph_setup_notes(look),
        *_prediction_log_notes(look, sizes),
        '',
        'Neighbouring runs on this shared machine differ by up to ±20 %: a difference within '
        "that is a tendency, not a result, and more so where the lanes' ranges overlap.",
    ]
    return lines


def _env_title(look: Lookup, env: str) -> str:
    where = 'beside the original' if env == REFERENCE else f'{env} lane'
    version = look.fact(env, 'protobuf')
    implementation = look.fact(env, 'protobuf_implementation')
    return f'{where}: protobuf {version or "?"} ({implementation or "?"})'


def protobuf_table(look: Lookup) -> list[str]:
    """What protobuf alone costs in each environment (`protobuf_costs`)."""
    envs = [e for e in (LEGACY, LATEST, REFERENCE) if look.entry('protobuf_costs', lane=e)]
    if LEGACY not in envs or LATEST not in envs:
        return ['(`protobuf_costs` did not run on both lanes)']
    rows = []
    for model in ('seed', 'wide'):
        sizes = {
            name: look.median('protobuf_costs', f'{model}:{name}', lane=LATEST) or 0.0
            for name in ('saved_model_kb', 'graph_def_kb')
        }
        for metric, text in GRAPH_ROWS:
            rows.append(
                _row(
                    look,
                    'protobuf_costs',
                    f'{model}:{metric}',
                    envs,
                    {},
                    text.format(model=model, **sizes),
                )
            )
    text = 'a PredictionLog per example with the message API (as tfx-bsl builds them), µs'
    rows.append(_row(look, 'protobuf_costs', 'prediction_log_us', envs, {}, text))
    header = ['protobuf alone', *(_env_title(look, e) for e in envs), 'latest ÷ legacy']
    return [
        'protobuf alone (`benchmarks/cases/protobuf_costs.py`, medians of repeated calls in one '
        'process):',
        '',
        *table(header, rows),
    ]


def _row(
    look: Lookup, case: str, metric: str, envs: list[str], key: dict[str, Any], text: str
) -> list[str]:
    cells = [look.spread(case, metric, lane=env, **key) for env in envs]
    legacy = look.median(case, metric, lane=LEGACY, **key)
    latest = look.median(case, metric, lane=LATEST, **key)
    value = ratio(latest, legacy)
    return [text, *cells, '-' if value is None else f'x{value:.2f}']


def stack_table(look: Lookup, sizes: tuple[int, ...]) -> list[str]:
    """The set-up and encoding costs each lane's whole stack pays, side by side."""
    estimator = 'train_eval_predict'
    rows = []
    for model in ('wide', 'seed'):
        for what, metric, text in (
            ('train', 'setup_s', 'train: before the first step, s'),
            ('train', 'call_s', 'train: the whole call, s'),
            ('evaluate', 'setup_s', 'evaluate: set-up before the first batch, s'),
            ('predict', 'setup_s', 'predict: set-up before the first batch, s'),
        ):
            key = {'model': model, 'what': what, 'label': 'ours'}
            if look.entry(estimator, lane=LEGACY, **key):
                rows.append(
                    _row(look, estimator, metric, [LEGACY, LATEST], key, f'{text} ({model})')
                )
    if look.entry('batch_stages', lane=LEGACY):
        text = "BatchPredictor's PredictionLog encoding (`LogFormat.encode`), µs per example"
        rows.append(_row(look, 'batch_stages', 'us:encode', [LEGACY, LATEST], {}, text))
    if sizes:
        n = max(sizes)
        for label, metric, text in (
            ('bulk_inferrer', 'examples_per_s_without_sdist', 'stock BulkInferrer'),
            ('batch_predictor', 'examples_per_s', 'BatchPredictor'),
        ):
            batch_key: dict[str, Any] = {'n': n, 'label': label}
            if look.entry('batch_inference', lane=LEGACY, **batch_key):
                text = f'{text}, {n:,} examples, examples/s (higher is better)'
                rows.append(
                    _row(look, 'batch_inference', metric, [LEGACY, LATEST], batch_key, text)
                )
    for metric, text in (
        ('orchestration_s', '`sme run` orchestration, first run, s'),
        ('import_s', '`sme run` imports (TF, TFX, the CLI), s'),
    ):
        if look.entry('pipeline_overhead', lane=LEGACY):
            rows.append(_row(look, 'pipeline_overhead', metric, [LEGACY, LATEST], {}, text))
    if not rows:
        return []
    header = ['the whole stack', lane_title(look, LEGACY), lane_title(look, LATEST)]
    header.append('latest ÷ legacy')
    return [
        'Ours on each lane (the tables above, side by side):',
        '',
        *table(header, rows),
    ]


def _verdict(legacy: float, latest: float, words: tuple[str, str]) -> str:
    """`cheaper on the latest lane (x0.70)`; words: what lower, then higher, values are."""
    value = latest / legacy if legacy else float('inf')
    if abs(value - 1) <= SAME:
        return f'about the same on both lanes (x{value:.2f})'
    return f'{words[0] if value < 1 else words[1]} on the latest lane (x{value:.2f})'


COST, RATE = ('cheaper', 'dearer'), ('slower', 'faster')


def _compare(
    look: Lookup,
    case: str,
    metric: str,
    unit: str,
    key: dict[str, Any] | None = None,
    words: tuple[str, str] = COST,
) -> str | None:
    """`0.83 s against 1.18 s: cheaper on the latest lane (x0.70)`, or None if not measured."""
    key = key or {}
    legacy = look.median(case, metric, lane=LEGACY, **key)
    latest = look.median(case, metric, lane=LATEST, **key)
    if legacy is None or latest is None:
        return None
    text = f'{fmt(latest)} {unit} against {fmt(legacy)} {unit}: {_verdict(legacy, latest, words)}'
    if _ranges_overlap(look, case, metric, key):
        text += ", though the lanes' min-max ranges overlap"
    return text


def _bullets(title: str, items: list[tuple[str, str | None]]) -> list[str]:
    lines = [f'  - {label}: {text}' for label, text in items if text is not None]
    return [f'- **{title}** (latest lane first):', *lines] if lines else []


def _graph_setup_notes(look: Lookup) -> list[str]:
    protobuf, estimator = 'protobuf_costs', 'train_eval_predict'
    items = [
        (
            "protobuf alone, serializing the seed model's train GraphDef",
            _compare(look, protobuf, 'seed:serialize_graph_def_ms', 'ms'),
        ),
        ('and parsing it', _compare(look, protobuf, 'seed:parse_graph_def_ms', 'ms')),
    ]
    for what, metric, text in (
        ('train', 'setup_s', 'ours, train, before the first step'),
        ('train', 'call_s', 'ours, the whole train call'),
        ('evaluate', 'setup_s', 'ours, evaluate, set-up before the first batch'),
        ('predict', 'setup_s', 'ours, predict, set-up before the first batch'),
    ):
        for model in ('wide', 'seed'):
            key = {'model': model, 'what': what, 'label': 'ours'}
            items.append((f'{text} ({model})', _compare(look, estimator, metric, 's', key)))
    return _bullets('Graph set-up', items)


def _prediction_log_notes(look: Lookup, sizes: tuple[int, ...]) -> list[str]:
    items = [
        (
            'a PredictionLog built with protobuf messages, as tfx-bsl does for stock BulkInferrer',
            _compare(look, 'protobuf_costs', 'prediction_log_us', 'µs per example'),
        ),
        (
            "BatchPredictor's own encoding (bytes built in Python, few protobuf calls)",
            _compare(look, 'batch_stages', 'us:encode', 'µs per example'),
        ),
    ]
    if sizes:
        n = max(sizes)
        for label, metric, text in (
            (
                'bulk_inferrer',
                'examples_per_s_without_sdist',
                'stock BulkInferrer (without its sdist)',
            ),
            ('batch_predictor', 'examples_per_s', 'BatchPredictor'),
        ):
            key: dict[str, Any] = {'n': n, 'label': label}
            rate = _compare(look, 'batch_inference', metric, 'examples/s', key, RATE)
            items.append((f'{text}, {n:,} examples, whole run', rate))
    return _bullets('PredictionLog encoding', items)


def _ranges_overlap(look: Lookup, case: str, metric: str, key: dict[str, Any]) -> bool:
    entries = [look.entry(case, lane=e, **key) for e in (LEGACY, LATEST)]
    if any(e is None or e['runs'] < 2 or metric not in e['min'] for e in entries):
        return False
    low = max(e['min'][metric] for e in entries)  # type: ignore[index]
    high = min(e['max'][metric] for e in entries)  # type: ignore[index]
    return bool(low <= high)
