"""How `make bench` judges BatchPredictor's scaling and memory targets, on runs made up here.

The runs are summarized by the report's own `summarize`, so the checks read medians exactly as
they do from a real results file.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks import findings, plan, report, tables

SIZES = (20000, 200000)


def run(n: int, label: str, rate: float, **numbers: Any) -> dict[str, Any]:
    return {
        'case': 'batch_inference',
        'n': n,
        'label': label,
        'lane': 'latest',
        'examples_per_s': rate,
        'environment': {'loadavg_1m': 0.5},
        **numbers,
    }


def look(*runs: dict[str, Any]) -> tables.Lookup:
    return tables.Lookup(report.summarize(list(runs)))


def test_two_workers_judged_against_one_and_bounded_by_the_cores_one_leaves_idle() -> None:
    medians = look(
        run(200000, 'batch_predictor', 200000.0, cores_used=1.6, cpus_usable=2),
        run(200000, 'batch_predictor', 220000.0, cores_used=1.6, cpus_usable=2),
        run(200000, 'batch_predictor_two_workers', 231000.0),
    )
    text, met = findings.two_workers(medians, SIZES, 'latest')
    assert met is False  # 231k / 210k (the median of one worker) = x1.10
    assert text.startswith('200,000: x1.10 (231,000 against 210,000 examples/s)')
    # One worker keeps 1.6 of 2 cores busy: the same CPU time on both cores is x1.25.
    assert '1.60 of 2 cores busy' in text and 'exceed x1.25' in text

    scaled = look(
        run(200000, 'batch_predictor', 100000.0),
        run(200000, 'batch_predictor_two_workers', 170000.0),
    )
    text, met = findings.two_workers(scaled, SIZES, 'latest')
    assert met is True and text == '200,000: x1.70 (170,000 against 100,000 examples/s)'
    assert findings.two_workers(look(run(200000, 'batch_predictor', 1.0)), SIZES, 'latest') == (
        '-',
        None,
    )


def test_flat_memory_compares_the_largest_size_with_the_run_ten_times_larger() -> None:
    runs = [
        run(20000, 'batch_predictor', 1.0, peak_rss_mb=800.0),
        run(200000, 'batch_predictor', 1.0, peak_rss_mb=900.0),
        run(2000000, 'batch_predictor', 1.0, peak_rss_mb=1000.0),
    ]
    text, met = findings.flat_memory(look(*runs), SIZES, 'latest')
    assert text == '200,000 → 2,000,000 examples: 900 → 1000 MiB (+11%)' and met is False
    # Without the large run (the quick bench): the smallest compared size against the largest.
    text, met = findings.flat_memory(look(*runs[:2]), SIZES, 'latest')
    assert text == '20,000 → 200,000 examples: 800 → 900 MiB (+12%)' and met is False
    runs[2]['peak_rss_mb'] = 980.0
    assert findings.flat_memory(look(*runs), SIZES, 'latest')[1] is True


def test_versus_stock_says_what_the_same_cpu_time_on_every_core_would_give() -> None:
    medians = look(
        run(200000, 'batch_predictor', 250000.0, cores_used=1.25, cpus_usable=2),
        run(200000, 'bulk_inferrer', 1.0, examples_per_s_without_sdist=10000.0),
    )
    text, met = findings.versus_stock(medians, SIZES, 'latest')
    assert met is True
    assert text == '200,000: x25.00 (1.25 of 2 cores busy; the same CPU time on every core: x40.0)'


def test_the_full_bench_runs_two_workers_and_the_large_size_once_per_lane() -> None:
    args = argparse.Namespace(quick=False, control=False, repeats=None, cases=None, lanes=None)
    jobs = plan.batch_jobs(plan.make_plan(args))
    two = [args for _, _, args, tags in jobs if tags['label'] == 'batch_predictor_two_workers']
    assert two and all('--beam-arg=--direct_num_workers=2' in a for a in two)
    large = [(env, a) for env, _, a, _ in jobs if a[a.index('--n') + 1] == '2000000']
    assert sorted(env for env, _ in large) == ['latest', 'legacy']
    assert all(a[:2] == ['--impl', 'batch_predictor'] for _, a in large)
    quick = plan.make_plan(argparse.Namespace(**{**vars(args), 'quick': True}))
    assert not any('2000000' in a for _, _, a, _ in plan.batch_jobs(quick))
