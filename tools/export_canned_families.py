#!/usr/bin/env python3
"""Export one tiny model of every canned tf.estimator family, for the importer's benign-model tests.

Runs only in .venv-reference (tensorflow==2.15.1, tensorflow-estimator==2.15.0). Usage:

    .venv-reference/bin/python tools/export_canned_families.py [--only NAME ...] OUT_DIR

(the checked-in copy lives in tests/data/canned_exports). For each model it trains `TRAIN_STEPS`
steps on a few in-memory rows and writes OUT_DIR/<name>/saved_model/: train, eval and serve
MetaGraphs exported with `experimental_export_all_saved_models`. OUT_DIR/MANIFEST.json records,
per model, the estimator class, its head, its feature columns and whether variables are
partitioned, so a test can check that every family and head is still covered.

Every family of tensorflow-estimator 2.15 (DNN, Linear, DNNLinearCombined) with every head
(binary and multi-class classifier, regressor): nine models. Between them they feed every column
kind canned estimators take, two or three per model so each export stays small (`RECIPES`):

* `color`: a vocabulary FILE column (the file becomes the export's asset `assets/colors.txt`,
  read by an `InitializeTableFromTextFileV2` at load), in five models;
* `city`: a hash bucket column; `age`: a numeric column, bucketized; `x`: a numeric column;
* `cross`: a crossed column (bucketized age x city);
* embeddings (of `color`, `city` or `cross`) in the DNN parts;
* `w`: a weight column, in five models.

The multi-class models are the V1 classes (`tf.compat.v1.estimator.*`) with partitioned
variables (`partitioner` / `input_layer_partitioner`), since the V2 classes take no partitioner.
Hidden units [4], `TRAIN_STEPS` steps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
import tensorflow as tf
from tensorflow_estimator.python.estimator.export import export_lib

ModeKeys = tf.estimator.ModeKeys
SEED = 7
TRAIN_STEPS = 3
N_ROWS = 16
COLORS = ('red', 'green', 'blue', 'black')
CITIES = ('paris', 'lima', 'oslo', 'kyiv', 'pune')
AGE_BOUNDARIES = [18.0, 35.0, 60.0]
FAMILIES = ('dnn', 'linear', 'dnn_linear')
HEADS = ('binary', 'multiclass', 'regressor')
N_CLASSES = {'binary': 2, 'multiclass': 3, 'regressor': None}
WEIGHT = 'w'

# <family>_<head> -> (linear column names, dnn column names, weighted). Multi-class = V1 classes
# with partitioned variables.
RECIPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    'dnn_binary': ((), ('color_embedding', 'x'), True),
    'dnn_multiclass': ((), ('city_embedding', 'age_buckets'), False),
    'dnn_regressor': ((), ('cross_embedding', 'x'), False),
    'linear_binary': (('color', 'cross'), (), True),
    'linear_multiclass': (('city', 'age_buckets'), (), True),
    'linear_regressor': (('color', 'x'), (), False),
    'dnn_linear_binary': (('cross',), ('color_embedding',), False),
    'dnn_linear_multiclass': (('age_buckets',), ('city_embedding',), True),
    'dnn_linear_regressor': (('color',), ('x',), True),
}


def rows() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """N_ROWS rows of every feature, and a label per head, from a fixed seed."""
    rng = np.random.RandomState(SEED)
    features = {
        'color': np.array([c.encode() for c in rng.choice(COLORS, N_ROWS)], dtype=object),
        'city': np.array([c.encode() for c in rng.choice(CITIES, N_ROWS)], dtype=object),
        'age': np.round(rng.uniform(10, 80, N_ROWS), 1).astype(np.float32),
        'x': np.round(rng.normal(size=N_ROWS), 3).astype(np.float32),
        WEIGHT: np.round(rng.uniform(0.5, 2.0, N_ROWS), 2).astype(np.float32),
    }
    labels = {
        'binary': rng.randint(2, size=N_ROWS).astype(np.int64),
        'multiclass': rng.randint(3, size=N_ROWS).astype(np.int64),
        'regressor': np.round(rng.normal(size=N_ROWS), 3).astype(np.float32),
    }
    return features, labels


def all_columns(vocabulary_file: str) -> dict[str, Any]:
    """Every column a recipe may name, over the raw features of `rows()`."""
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_file('color', vocabulary_file)
    city = fc.categorical_column_with_hash_bucket('city', hash_bucket_size=5)
    age_buckets = fc.bucketized_column(fc.numeric_column('age'), boundaries=AGE_BOUNDARIES)
    cross = fc.crossed_column([age_buckets, 'city'], hash_bucket_size=7)
    return {
        'color': color,
        'city': city,
        'age_buckets': age_buckets,
        'cross': cross,
        'x': fc.numeric_column('x'),
        'color_embedding': fc.embedding_column(color, dimension=2),
        'city_embedding': fc.embedding_column(city, dimension=2),
        'cross_embedding': fc.embedding_column(cross, dimension=2),
    }


def model_columns(name: str, vocabulary_file: str) -> tuple[list[Any], list[Any]]:
    """(linear columns, dnn columns) of model `name`."""
    linear, dnn, _ = RECIPES[name]
    known = all_columns(vocabulary_file)
    return [known[c] for c in linear], [known[c] for c in dnn]


def make_estimator(family: str, head: str, model_dir: str, vocabulary_file: str) -> Any:
    """The canned estimator of `family` with `head`; V1 and partitioned for the multi-class."""
    name = f'{family}_{head}'
    linear, dnn = model_columns(name, vocabulary_file)
    kwargs: dict[str, Any] = {
        'config': tf.estimator.RunConfig(model_dir=model_dir, tf_random_seed=SEED)
    }
    if RECIPES[name][2]:
        kwargs['weight_column'] = WEIGHT
    if N_CLASSES[head]:
        kwargs['n_classes'] = N_CLASSES[head]
    v1 = head == 'multiclass'
    api = tf.compat.v1.estimator if v1 else tf.estimator
    kind = 'Regressor' if head == 'regressor' else 'Classifier'
    # Slices of at least 16 bytes: the bias of a 3-class linear model ([3] floats) stays whole,
    # since tf.compat.v1 linear models cannot summarize a partitioned bias.
    partitioner = tf.compat.v1.min_max_variable_partitioner(max_partitions=2, min_slice_size=16)
    if family == 'dnn':
        kwargs.update(hidden_units=[4], feature_columns=dnn)
        if v1:
            kwargs['input_layer_partitioner'] = partitioner
        return getattr(api, f'DNN{kind}')(**kwargs)
    if family == 'linear':
        kwargs['feature_columns'] = linear
        if v1:
            kwargs['partitioner'] = partitioner
        return getattr(api, f'Linear{kind}')(**kwargs)
    kwargs.update(linear_feature_columns=linear, dnn_feature_columns=dnn, dnn_hidden_units=[4])
    if v1:
        kwargs['input_layer_partitioner'] = partitioner
    return getattr(api, f'DNNLinearCombined{kind}')(**kwargs)


def input_fn(head: str) -> Callable[[], tf.data.Dataset]:
    features, labels = rows()

    def fn() -> tf.data.Dataset:
        return tf.data.Dataset.from_tensors((features, labels[head])).repeat()

    return fn


def receiver_fns(name: str, head: str, vocabulary_file: str) -> dict[str, Callable[[], Any]]:
    """Raw-feature receivers for train and eval (features, weight, label); parsing for serve."""
    features, labels = rows()
    with tf.Graph().as_default():
        placeholders = {
            key: tf.compat.v1.placeholder(tf.string if v.dtype == object else tf.float32, [None])
            for key, v in features.items()
        }
        label = tf.compat.v1.placeholder(tf.as_dtype(labels[head].dtype), [None])
    supervised = export_lib.build_raw_supervised_input_receiver_fn(placeholders, label)
    linear, dnn = model_columns(name, vocabulary_file)
    serving = export_lib.build_parsing_serving_input_receiver_fn(
        tf.feature_column.make_parse_example_spec(linear + dnn)
    )
    return {ModeKeys.TRAIN: supervised, ModeKeys.EVAL: supervised, ModeKeys.PREDICT: serving}


def export_model(family: str, head: str, out_dir: str) -> dict[str, Any]:
    """Trains `family` with `head` and exports all modes to OUT_DIR/<family>_<head>/saved_model."""
    name = f'{family}_{head}'
    target = os.path.join(out_dir, name, 'saved_model')
    with tempfile.TemporaryDirectory() as work:
        vocabulary_file = os.path.join(work, 'colors.txt')
        with open(vocabulary_file, 'w') as f:
            f.write('\n'.join(COLORS) + '\n')
        estimator = make_estimator(family, head, os.path.join(work, 'model_dir'), vocabulary_file)
        estimator.train(input_fn=input_fn(head), steps=TRAIN_STEPS)
        export_dir = estimator.experimental_export_all_saved_models(
            os.path.join(work, 'export'), receiver_fns(name, head, vocabulary_file)
        )
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.move(os.fsdecode(export_dir), target)
        linear, dnn, weighted = RECIPES[name]
        record = {
            'estimator': f'{type(estimator).__module__}.{type(estimator).__qualname__}',
            'family': family,
            'head': head,
            'linear_columns': list(linear),
            'dnn_columns': list(dnn),
            'weight_column': WEIGHT if weighted else None,
            'partitioned': head == 'multiclass',
            'train_steps': TRAIN_STEPS,
        }
    return {name: record}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('out_dir')
    parser.add_argument('--only', nargs='*', help='model names (<family>_<head>) to export')
    args = parser.parse_args(argv)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    manifest_path = os.path.join(args.out_dir, 'MANIFEST.json')
    manifest: dict[str, Any] = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    wanted = set(args.only or [f'{f}_{h}' for f in FAMILIES for h in HEADS])
    for family in FAMILIES:
        for head in HEADS:
            if f'{family}_{head}' in wanted:
                manifest.update(export_model(family, head, args.out_dir))
                print(f'exported {family}_{head}')
    manifest['_generated_by'] = {
        'tool': 'tools/export_canned_families.py',
        'tensorflow': tf.__version__,
        'tensorflow_estimator': _estimator_version(),
    }
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write('\n')
    return 0


def _estimator_version() -> str:
    from importlib import metadata

    return metadata.version('tensorflow-estimator')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
