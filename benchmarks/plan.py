"""What one `make bench` run measures: the plan from the command line, and the jobs it makes.

A job is one case in one fresh process of an environment; `run.py` runs the jobs in order, so
the order here is the interleaving (legacy, latest, original, legacy, ...) the measurements need.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from benchmarks.common import LANES, REFERENCE

Job = tuple[str, str, list[str], dict[str, Any]]  # environment, case module, arguments, tags


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one benchmark run covers."""

    quick: bool
    repeats: int
    batch_repeats: int
    pipeline_repeats: int
    # Stock BulkInferrer (over a minute a run) and the Parquet variant at the largest size run
    # this many times (at most batch_repeats), to keep `make bench` near 25 minutes.
    long_batch_repeats: int = 2
    lanes: tuple[str, ...] = LANES
    # With both lanes at full counts a run would take ~30 minutes on the 2-core machine, so one
    # lane repeats less: the legacy lane, whose numbers three earlier full runs stand behind (the
    # latest lane, the default for users, gets the full counts). Its estimator measurements run
    # `reduced_repeats` times (in the first rounds), its batch-inference ones
    # `reduced_batch_repeats` (stock BulkInferrer included), and the two longest (stock
    # BulkInferrer and the Parquet variant at the largest size) `reduced_long_batch_repeats`.
    reduced_lane: str | None = 'legacy'
    reduced_repeats: int = 3
    reduced_batch_repeats: int = 2
    reduced_long_batch_repeats: int = 1
    models: tuple[str, ...] = ('wide', 'seed')
    whats: tuple[str, ...] = ('train', 'evaluate', 'predict')
    train_steps: int = 200
    skip_steps: int = 20
    steady_steps: int = 400
    batch_sizes_n: tuple[int, ...] = (20000, 200000)
    # BatchPredictor alone at these sizes, once per lane: is its peak RSS flat far past the
    # largest of batch_sizes_n? (Stock BulkInferrer would take minutes there.)
    memory_sizes_n: tuple[int, ...] = (2_000_000,)
    # BatchPredictor at the largest size with two DirectRunner workers (threads sharing one
    # loaded model), beside the one-worker runs.
    two_workers: bool = True
    pipeline_train_steps: int = 100
    control_whats: tuple[str, ...] = ('train',)
    cases: tuple[str, ...] = ('estimator', 'batch', 'pipeline', 'protobuf')

    def estimator_runs(self, env: str) -> int:
        """How many times an estimator measurement runs in an environment."""
        return self.reduced_repeats if env == self.reduced_lane else self.repeats

    def batch_runs(self, lane: str, long: bool) -> int:
        """How many times a batch-inference measurement runs on a lane."""
        reduced = lane == self.reduced_lane
        if long:
            return self.reduced_long_batch_repeats if reduced else self.long_batch_repeats
        return self.reduced_batch_repeats if reduced else self.batch_repeats


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(
            quick=True,
            repeats=1,
            batch_repeats=1,
            pipeline_repeats=1,
            long_batch_repeats=1,
            reduced_lane=None,
            train_steps=60,
            skip_steps=10,
            steady_steps=100,
            batch_sizes_n=(2000, 20000),
            memory_sizes_n=(),
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
            repeats=args.repeats,
            reduced_repeats=args.repeats,
            batch_repeats=args.repeats,
            long_batch_repeats=args.repeats,
            reduced_lane=None,
        )
    if args.cases:
        changes['cases'] = tuple(args.cases.split(','))
    if args.lanes:
        changes['lanes'] = tuple(lane for lane in LANES if lane in args.lanes.split(','))
    return dataclasses.replace(plan, **changes)


def estimator_jobs(plan: Plan) -> list[Job]:
    jobs = []
    for repeat in range(plan.repeats):
        for model in plan.models:
            for what in plan.whats:
                # Side by side: neighbours share the machine's load. The control (ours on the
                # original's TensorFlow) tells TF-version effects from the implementation's.
                runs = [(lane, 'ours') for lane in plan.lanes] + [(REFERENCE, 'original')]
                if what in plan.control_whats:
                    runs.append((REFERENCE, 'ours'))
                for env, impl in runs:
                    if repeat >= plan.estimator_runs(env):
                        continue
                    args = ['--impl', impl, '--model', model, '--what', what]
                    args += ['--steps', str(plan.train_steps), '--skip', str(plan.skip_steps)]
                    args += ['--steady-steps', str(plan.steady_steps)]
                    jobs.append((env, 'train_eval_predict', args, {'label': impl, 'lane': env}))
    return jobs


# Two DirectRunner workers as threads of one process: they share the loaded model.
TWO_WORKERS = (
    '--runner=DirectRunner',
    '--direct_running_mode=multi_threading',
    '--direct_num_workers=2',
)


def batch_jobs(plan: Plan) -> list[Job]:
    largest = max(plan.batch_sizes_n)
    # (n, label, arguments, long: fewer runs, or None: one run)
    measurements = []
    for n in plan.batch_sizes_n:
        for impl in ('batch_predictor', 'bulk_inferrer', 'bare'):
            long = n == largest and impl == 'bulk_inferrer'
            measurements.append((n, impl, ['--impl', impl, '--n', str(n)], long))
        if n == largest:  # what PredictionLogs cost: rows only
            args = ['--impl', 'batch_predictor', '--n', str(n), '--output-format', 'parquet']
            measurements.append((n, 'batch_predictor_parquet', args, True))
        if n == largest and plan.two_workers:
            args = ['--impl', 'batch_predictor', '--n', str(n)]
            args += [f'--beam-arg={arg}' for arg in TWO_WORKERS]
            measurements.append((n, 'batch_predictor_two_workers', args, False))
    for n in plan.memory_sizes_n:
        args = ['--impl', 'batch_predictor', '--n', str(n)]
        measurements.append((n, 'batch_predictor', args, None))  # once per lane
    jobs = []
    for repeat in range(max(plan.batch_repeats, plan.reduced_batch_repeats)):
        for _, label, args, long in measurements:
            for lane in plan.lanes:
                runs = 1 if long is None else plan.batch_runs(lane, long)
                if repeat < runs:
                    jobs.append((lane, 'batch_inference', args, {'label': label, 'lane': lane}))
    return jobs


def stage_jobs(plan: Plan) -> list[Job]:
    args = ['--n', str(max(plan.batch_sizes_n))]
    return [(lane, 'batch_stages', args, {'label': 'stages', 'lane': lane}) for lane in plan.lanes]


def pipeline_jobs(plan: Plan) -> list[Job]:
    args = ['--train-steps', str(plan.pipeline_train_steps)]
    tags = {'label': 'sme_run'}
    return [
        (lane, 'pipeline_overhead', args, {**tags, 'lane': lane})
        for _ in range(plan.pipeline_repeats)
        for lane in plan.lanes
    ]


def protobuf_jobs(plan: Plan) -> list[Job]:
    envs = [*plan.lanes, REFERENCE]
    return [(env, 'protobuf_costs', [], {'label': 'protobuf', 'lane': env}) for env in envs]
