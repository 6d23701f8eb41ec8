"""The golden fixtures of tests/data as test inputs, and the conformance record the suite writes.

Everything here reads `tests/data/` (made by TF 2.15.1 + tensorflow-estimator 2.15.0, see
FIXTURES.md) or writes under `tmp_path` and `tests/.conformance/`; nothing writes into tests/data.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import shutil
import stat
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from tests.support.paths import DATA, EXPORTS, REPO

UPSTREAM_DIR = DATA / 'upstream_suite'
CONFORMANCE_DIR = REPO / 'tests' / '.conformance'

# A supervised export names a single label tensor 'label' (export_lib.wrap_and_check_input_tensors).
LABEL_KEY = 'label'


def model_names() -> list[str]:
    return sorted(p.name for p in EXPORTS.iterdir() if (p / 'reference.json').is_file())


def scenario_names() -> list[str]:
    return sorted(p.name for p in UPSTREAM_DIR.iterdir() if (p / 'expected.json').is_file())


def load_reference(model: str) -> dict[str, Any]:
    return json.loads((EXPORTS / model / 'reference.json').read_text())


def load_expected(scenario: str) -> dict[str, Any]:
    return json.loads((UPSTREAM_DIR / scenario / 'expected.json').read_text())


def copy_saved_model(source: pathlib.Path, target: pathlib.Path) -> str:
    """Copies a fixture SavedModel to `target` and makes the copy writable.

    The fixtures are checked in read-only; copytree keeps those modes, which would stop pytest
    from cleaning up tmp_path.

    Returns:
        The copy's path as a string, the way a user passes it to SavedModelEstimator.
    """
    shutil.copytree(source, target)
    for root, dirs, files in os.walk(target):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    os.chmod(target, os.stat(target).st_mode | stat.S_IWUSR)
    return str(target)


@dataclasses.dataclass(frozen=True)
class Examples:
    """One split of a model's data: parsed features and labels, and the records as stored."""

    features: dict[str, np.ndarray]
    labels: np.ndarray
    serialized: np.ndarray

    def supervised_input_fn(self, *, repeat: bool):
        """An input_fn giving every row as one batch: once, or the same batch forever."""

        def input_fn():
            dataset = tf.data.Dataset.from_tensors((dict(self.features), self.labels))
            return dataset.repeat() if repeat else dataset

        return input_fn

    def serving_input_fn(self, key: str, n_rows: int):
        """An input_fn giving the first `n_rows` serialized tf.Examples once, under `key`."""

        def input_fn():
            return tf.data.Dataset.from_tensors({key: self.serialized[:n_rows]})

        return input_fn


def _column_spec(column: Mapping[str, Any]) -> tf.io.FixedLenFeature:
    return tf.io.FixedLenFeature(column['row_shape'], tf.as_dtype(column['dtype']))


def check_signature_inputs(reference: Mapping[str, Any]) -> None:
    """Fails if the data section and the train/eval signatures disagree on a feature.

    This checks the fixture, not the core: features are built from the data section, which must
    be exactly what the supervised signatures take.
    """
    data = reference['data']
    wanted = {c['name']: c for c in data['features']}
    wanted[LABEL_KEY] = data['label']
    for meta_graph in reference['export']['signatures']:
        for name, signature in meta_graph['signature_defs'].items():
            if not signature['method_name'].startswith('tensorflow/supervised/'):
                continue
            found = {k: (v['dtype'], v['shape']) for k, v in signature['inputs'].items()}
            expected = {k: (c['dtype'], [-1, *c['row_shape']]) for k, c in wanted.items()}
            assert found == expected, f'signature {name!r} inputs {found} != data {expected}'


def read_examples(model: str, split: str) -> Examples:
    """Parses `data/<split>.tfrecord` of `model` per the reference's data section, with TF."""
    data = load_reference(model)['data']
    path = EXPORTS / model / data['files'][f'{split}_tfrecord']
    spec = {c['name']: _column_spec(c) for c in data['features']}
    spec[LABEL_KEY] = _column_spec(data['label'])
    # A private graph and session: this works whether or not the core turned eager mode off.
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        records = tf.data.TFRecordDataset(str(path)).batch(1 << 20)
        batch = tf.compat.v1.data.make_one_shot_iterator(records).get_next()
        serialized = sess.run(batch)
        parsed = sess.run(tf.io.parse_example(serialized, spec))
    assert len(serialized) == data[f'n_{split}'], f'{path}: {len(serialized)} records'
    labels = parsed.pop(LABEL_KEY)
    return Examples(features=parsed, labels=labels, serialized=serialized)


def hash_bucket(text: str, num_buckets: int) -> int:
    """tf.strings.to_hash_bucket_fast of one string, computed in a private graph."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        return int(sess.run(tf.strings.to_hash_bucket_fast(text, num_buckets)))


def write_conformance(suite: str, results: Mapping[str, Mapping[str, Any]]) -> pathlib.Path:
    """Merges one run's per-case results into tests/.conformance/<suite>-<environment>.json.

    One file per suite and environment (the `make test` suite named by SME_SUITE: legacy,
    latest, tf-latest, reference; else the TensorFlow version), so runs in every environment sit
    side by side; a partial run (`-k`) updates only the cases it ran. `make test` clears the
    folder first. CONFORMANCE.md is made from these.

    Returns:
        The path written.
    """
    CONFORMANCE_DIR.mkdir(parents=True, exist_ok=True)
    environment = os.environ.get('SME_SUITE') or f'tf{tf.__version__}'
    path = CONFORMANCE_DIR / f'{suite}-{environment}.json'
    record = json.loads(path.read_text()) if path.is_file() else {'results': {}}
    record.update(
        suite=suite,
        environment=environment,
        tensorflow=tf.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        machine=platform.machine(),
    )
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    for case, result in results.items():
        record['results'][case] = {**result, 'recorded_at': now}
    record['results'] = dict(sorted(record['results'].items()))
    path.write_text(json.dumps(record, indent=1, sort_keys=False) + '\n')
    return path


def raises_like(recorded: Mapping[str, str], call, *args, match=None, substitutions=None, **kwargs):
    """Asserts `call(*args, **kwargs)` raises what the original raised.

    Args:
        recorded: {'type': builtin exception name, 'message': str(exception)} of the original.
        call: the callable to run.
        match: a pattern the message must match first (an upstream test's assertRaisesRegexp).
        substitutions: placeholder -> text, for recorded messages that named a temporary path.

    Returns:
        The exception: its type is the recorded one or a subclass, and its text contains the
        original's whole message (it may add to it, not reword it).
    """
    message = recorded['message']
    for placeholder, value in (substitutions or {}).items():
        message = message.replace(placeholder, value)
    with pytest.raises(getattr(builtins, recorded['type']), match=match) as info:
        call(*args, **kwargs)
    assert message in str(info.value), f'{str(info.value)!r} does not contain {message!r}'
    return info.value
