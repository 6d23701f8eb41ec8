"""The batch-inference inputs: N tf.Examples made from the wide fixture's eval rows, made once.

    .venv-legacy/bin/python -m benchmarks.data --n 20000 --n 200000

Writes `benchmarks/.data/examples_<n>/Split-eval/data_tfrecord-0000i-of-00004.gz` (gzip TFRecords
of tf.Example, laid out as ExampleGen writes an Examples artifact) and
`benchmarks/.data/model_wide/Format-Serving/` (a Model artifact holding the wide export). The
rows are the 4096 eval rows repeated, every float feature jittered with Gaussian noise from a
fixed seed, so the same N always gives the same bytes. A set whose manifest matches is reused.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import time

import numpy as np

from benchmarks.common import DATA_DIR, EXPORTS, MODELS, fixture_data

SHARDS = 4
SEED = 20240229
JITTER = 0.05
FORMAT_VERSION = 1
SPLIT = 'eval'


def examples_dir(n: int) -> pathlib.Path:
    return DATA_DIR / f'examples_{n}'


def model_artifact_dir() -> pathlib.Path:
    return DATA_DIR / 'model_wide'


def _manifest(n: int) -> dict:
    return {'n': n, 'shards': SHARDS, 'seed': SEED, 'jitter': JITTER, 'version': FORMAT_VERSION}


def _base_rows() -> tuple[list[str], np.ndarray, np.ndarray]:
    """The wide fixture's eval rows: feature names, a float matrix, the labels."""
    import tensorflow as tf

    data = fixture_data('wide')
    names = [column['name'] for column in data['features']]
    label = data['label']['name']
    path = EXPORTS / MODELS['wide'] / 'data' / 'eval.tfrecord'
    features, labels = [], []
    for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        feature = tf.train.Example.FromString(record).features.feature
        features.append([feature[name].float_list.value[0] for name in names])
        labels.append(feature[label].float_list.value[0])
    return names, np.asarray(features, np.float32), np.asarray(labels, np.float32)


def _serialize(names: list[str], values: np.ndarray, labels: np.ndarray) -> list[bytes]:
    """tf.Examples of one float per feature, serialized by patching the floats of a template.

    Every record has the same layout (one float per feature), so the template's bytes are
    copied per row and each feature's 4 value bytes overwritten: the same bytes
    `Example.SerializeToString()` gives, at a fraction of the cost of building protos.
    """
    import tensorflow as tf

    label_name = fixture_data('wide')['label']['name']
    columns = [*names, label_name]
    sentinels = np.arange(1, len(columns) + 1, dtype=np.float32) * np.float32(1234.5)
    template = tf.train.Example()
    for name, sentinel in zip(columns, sentinels.tolist(), strict=True):
        template.features.feature[name].float_list.value.append(sentinel)
    raw = template.SerializeToString()
    offsets = [raw.index(s.tobytes()) for s in sentinels]
    assert all(raw.count(s.tobytes()) == 1 for s in sentinels), 'ambiguous template'
    table = np.tile(np.frombuffer(raw, np.uint8), (len(values), 1))
    floats = np.concatenate([values, labels[:, None]], axis=1).astype('<f4')
    as_bytes = floats.view(np.uint8).reshape(len(values), len(columns), 4)
    for column, offset in enumerate(offsets):
        table[:, offset : offset + 4] = as_bytes[:, column]
    return [row.tobytes() for row in table]


def write_examples(n: int) -> pathlib.Path:
    """Writes the N-example set unless an identical one exists; returns its directory."""
    import tensorflow as tf

    root = examples_dir(n)
    manifest = root / 'MANIFEST.json'
    if manifest.exists() and json.loads(manifest.read_text()) == _manifest(n):
        return root
    if root.exists():
        shutil.rmtree(root)
    names, features, labels = _base_rows()
    rng = np.random.default_rng(SEED)
    split_dir = root / f'Split-{SPLIT}'
    split_dir.mkdir(parents=True)
    bounds = np.linspace(0, n, SHARDS + 1).astype(int)
    for shard in range(SHARDS):
        path = split_dir / f'data_tfrecord-{shard:05d}-of-{SHARDS:05d}.gz'
        rows = np.arange(bounds[shard], bounds[shard + 1])
        values = features[rows % len(features)]
        values = values + rng.normal(0, JITTER, values.shape).astype(np.float32)
        with tf.io.TFRecordWriter(str(path), options='GZIP') as writer:
            for record in _serialize(names, values, labels[rows % len(labels)]):
                writer.write(record)
    manifest.write_text(json.dumps(_manifest(n)))
    return root


def write_model_artifact() -> pathlib.Path:
    """A Model artifact directory holding the wide export under Format-Serving/."""
    root = model_artifact_dir()
    target = root / 'Format-Serving'
    if not (target / 'saved_model.pb').exists():
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(EXPORTS / MODELS['wide'] / 'saved_model', target)
        for path in [target, *target.rglob('*')]:  # the fixtures are read-only; not the copy
            path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Generate the batch-inference example sets.')
    parser.add_argument('--n', type=int, action='append', required=True, help='examples per set')
    args = parser.parse_args(argv)
    write_model_artifact()
    for n in args.n:
        start = time.perf_counter()
        path = write_examples(n)
        print(f'{path}: {n} examples ({time.perf_counter() - start:.1f} s)')


if __name__ == '__main__':
    main()
