"""Writes CONFORMANCE.md from what the conformance suite recorded in tests/.conformance/.

Run by `make test` after every environment's suite (`make test` clears the records first, so the
report shows that run alone); by hand: `python tools/conformance_report.py`.
"""

from __future__ import annotations

import collections
import datetime
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDS = ROOT / 'tests' / '.conformance'
REPORT = ROOT / 'CONFORMANCE.md'


# The environments in the report's column order, and what each runs.
ENVIRONMENTS = {
    'reference': 'reference',
    'legacy': 'legacy lane',
    'latest': 'latest lane',
    'tf-latest': 'core alone',
}


def load(suite: str) -> dict[str, dict]:
    """{column heading: record} for one suite, in ENVIRONMENTS order (others after, by name)."""
    records = [json.loads(path.read_text()) for path in RECORDS.glob(f'{suite}-*.json')]
    order = list(ENVIRONMENTS)

    def position(record: dict) -> tuple[int, str]:
        environment = record.get('environment', '')
        return (order.index(environment) if environment in order else len(order), environment)

    return {heading(record): record for record in sorted(records, key=position)}


def heading(record: dict) -> str:
    """'latest lane, TF 2.21.0' for a record of the latest lane; 'TF 2.21.0' when unnamed."""
    name = ENVIRONMENTS.get(record.get('environment', ''))
    return f'{name}, TF {record["tensorflow"]}' if name else f'TF {record["tensorflow"]}'


def outcomes_table(records: dict[str, dict]) -> list[str]:
    lines = [
        '| test file | ' + ' | '.join(records) + ' |',
        '|---|' + '---|' * len(records),
    ]
    per_file: dict[str, dict[str, collections.Counter]] = collections.defaultdict(dict)
    for version, record in records.items():
        for test_id, result in record['results'].items():
            module = test_id.split('::', 1)[0].rsplit('/', 1)[-1]
            per_file[module].setdefault(version, collections.Counter())[result['outcome']] += 1
    for module in sorted(per_file):
        cells = []
        for version in records:
            counts = per_file[module].get(version)
            if not counts:
                cells.append('not run here')
                continue
            run = counts['passed'] + counts['failed']
            text = f'{counts["passed"]}/{run} pass' if run else ''
            if counts['skipped']:
                text += (
                    f' ({counts["skipped"]} skipped)' if text else f'{counts["skipped"]} skipped'
                )
            cells.append(text)
        lines.append(f'| {module} | ' + ' | '.join(cells) + ' |')
    return lines


def models_table(records: dict[str, dict]) -> list[str]:
    lines = [
        '| model | ' + ' | '.join(f'{v}: checks, max abs diff' for v in records) + ' |',
        '|---|' + '---|' * len(records),
    ]
    models = sorted({m for r in records.values() for m in r['results']})
    for model in models:
        cells = []
        for record in records.values():
            result = record['results'].get(model)
            if result is None:
                cells.append('not run')
                continue
            total = result['passed'] + result['failed']
            cells.append(f'{result["passed"]}/{total} match, {result["max_abs_diff"]:.2g}')
        lines.append(f'| {model} | ' + ' | '.join(cells) + ' |')
    return lines


def side_by_side_lines(records: dict[str, dict]) -> list[str]:
    lines = []
    for version, record in records.items():
        results = record['results'].values()
        passed = sum(1 for r in results if r['passed'])
        worst = max((r['max_abs_diff'] for r in results if r['passed']), default=0.0)
        lines.append(
            f'- {version} (the original and ours in one process): {passed}/{len(results)} '
            f'scenarios equal; largest absolute difference {worst:.2g}.'
        )
    return lines


def run_stamp() -> str:
    """When the records were made, and from which commit (marked + when the tree had changes)."""
    stamps = [path.stat().st_mtime for path in RECORDS.glob('*.json')]
    when = datetime.datetime.fromtimestamp(max(stamps, default=0), tz=datetime.timezone.utc)

    def git(*args: str) -> str:
        result = subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ''

    commit = git('rev-parse', '--short=12', 'HEAD') or 'unknown commit'
    changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!CONFORMANCE.md')
    return f'{when:%Y-%m-%d %H:%M} UTC, commit {commit}{"+" if changed else ""}'


def main() -> int:
    if not RECORDS.is_dir():
        print(
            f'conformance_report: {RECORDS} does not exist; run make test first.', file=sys.stderr
        )
        return 1
    text = [
        '# Conformance with the original SavedModelEstimator',
        '',
        'Generated by `tools/conformance_report.py` from what `make test` recorded; do not edit.',
        f'This run: {run_stamp()}.',
        'The reference is tensorflow-estimator 2.15.0 on TensorFlow 2.15.1: the golden exports and',
        'their `reference.json` in `tests/data/` were made by it, and the side-by-side suite runs it',
        'in the same process as ours. Values are compared with rtol 1e-5 (atol 1e-6 near zero).',
        'Differences above 0 against `reference.json` are float32 rounding (the largest, on',
        "dnn_classifier_seed's Adagrad accumulators, is a relative 4e-7, the same on every",
        'TensorFlow); side by side, the original and ours on the same calls in one process differ',
        'by the amount the section below gives.',
        '',
        '## Golden exports: evaluate, predict, train 20 steps, every variable, evaluate, predict',
        '',
        *models_table(load('estimator_exports')),
        '',
        '## Side by side with the real SavedModelEstimator',
        '',
        *side_by_side_lines(load('side_by_side')),
        '',
        '## Conformance tests by file and environment',
        '',
        *outcomes_table(load('outcomes')),
        '',
    ]
    REPORT.write_text('\n'.join(text))
    print(f'wrote {REPORT.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
