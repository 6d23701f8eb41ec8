#!/usr/bin/env python3
"""Make the bundle `make demo` runs on: an Estimator export and new data to continue training on.

Runs only in .venv-reference (tensorflow 2.15.1 + tensorflow-estimator 2.15.0), because the export
must be made by the real tf.estimator:

    .venv-reference/bin/python tools/make_demo_bundle.py examples/demo

Writes OUT/saved_model/ (a DNNClassifier of a churn-like task, trained 200 steps on the first
data, exported with experimental_export_all_saved_models: train, eval and serve MetaGraphs; serve
takes serialized tf.Examples) and OUT/data/{train,eval}.csv: newer data, with a `customer_id`
column the model does not read (batch predictions carry it through) and `label` (1: the
customer churned), the name canned Estimators give their label input. Deterministic.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
import tensorflow as tf

PLANS = ('basic', 'plus', 'pro')
SEED = 7


def make_rows(n: int, rng: np.random.Generator, drift: float) -> list[dict]:
    """Rows of tenure, monthly charge, support calls, plan, and whether the customer churned."""
    tenure = rng.gamma(2.0, 12.0, n).astype(np.float32)
    charge = rng.normal(60 + drift * 10, 20, n).clip(10, 150).astype(np.float32)
    calls = rng.poisson(1.5 + drift, n).astype(np.float32)
    plan = rng.choice(PLANS, n)
    logit = -0.04 * tenure + 0.02 * (charge - 60) + 0.5 * calls - 0.4 * (plan == 'pro') - 0.3
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return [
        {
            'customer_id': f'c{i:05d}',
            'tenure': float(t),
            'monthly_charge': float(c),
            'support_calls': float(s),
            'plan': str(p),
            'label': int(y),
        }
        for i, (t, c, s, p, y) in enumerate(zip(tenure, charge, calls, plan, churned, strict=True))
    ]


def float_text(value: float) -> str:
    """Always with a decimal point, so CsvExampleGen infers a float column, as the model reads."""
    text = f'{value:.4g}'
    return text if any(c in text for c in '.e') else text + '.0'


def write_csv(path: str, rows: list[dict]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: float_text(v) if isinstance(v, float) else v for k, v in row.items()}
            )


def columns() -> list:
    numeric = [
        tf.feature_column.numeric_column(k) for k in ('tenure', 'monthly_charge', 'support_calls')
    ]
    plan = tf.feature_column.indicator_column(
        tf.feature_column.categorical_column_with_vocabulary_list('plan', PLANS)
    )
    return [*numeric, plan]


def as_tensors(rows: list[dict]) -> tuple[dict, np.ndarray]:
    features = {
        k: np.array([r[k] for r in rows], dtype=np.float32)
        for k in ('tenure', 'monthly_charge', 'support_calls')
    }
    features['plan'] = np.array([r['plan'] for r in rows])
    return features, np.array([r['label'] for r in rows], dtype=np.float32)


def main(out: str) -> int:
    rng = np.random.default_rng(SEED)
    first = make_rows(2000, rng, drift=0.0)
    newer_train, newer_eval = make_rows(2000, rng, drift=0.5), make_rows(500, rng, drift=0.5)
    estimator = tf.estimator.DNNClassifier(
        hidden_units=[16, 8],
        feature_columns=columns(),
        model_dir=tempfile.mkdtemp(),
        config=tf.estimator.RunConfig(tf_random_seed=SEED),
    )
    features, labels = as_tensors(first)
    estimator.train(
        lambda: (
            tf.data.Dataset.from_tensor_slices((features, labels))
            .shuffle(2000, seed=SEED)
            .repeat()
            .batch(64)
        ),
        steps=200,
    )
    dtypes = {
        'tenure': tf.float32,
        'monthly_charge': tf.float32,
        'support_calls': tf.float32,
        'plan': tf.string,
    }

    def supervised():
        # Placeholders are made inside the export graph, when the receiver is called.
        return tf.estimator.experimental.build_raw_supervised_input_receiver_fn(
            {k: tf.compat.v1.placeholder(d, [None], name=k) for k, d in dtypes.items()},
            tf.compat.v1.placeholder(tf.float32, [None], name='label'),
        )()

    serving = tf.estimator.export.build_parsing_serving_input_receiver_fn(
        tf.feature_column.make_parse_example_spec(columns())
    )
    export_base = tempfile.mkdtemp()
    export_dir = estimator.experimental_export_all_saved_models(
        export_base, {'train': supervised, 'eval': supervised, 'infer': serving}
    )
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, 'data'))
    shutil.copytree(export_dir.decode(), os.path.join(out, 'saved_model'))
    write_csv(os.path.join(out, 'data', 'train.csv'), newer_train)
    write_csv(os.path.join(out, 'data', 'eval.csv'), newer_eval)
    print(f'wrote {out}/saved_model (global step 200) and {out}/data/{{train,eval}}.csv')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'examples/demo'))
