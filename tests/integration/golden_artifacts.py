"""TFX artifacts made from the golden fixtures, and an independent path to the core's numbers.

Examples artifacts hold gzip TFRecords under `Split-<name>/`, as ExampleGen writes them; Model
artifacts hold a copy of a fixture SavedModel in `Format-Serving/`. `core_evaluate` parses the
records with `tf.io.parse_example` from the fixture's own description of its features, not
through the components' input code, and evaluates with the core directly.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator_tfx.components.common import artifacts
from tests.support.paths import EXPORTS

_PARSE_DTYPES = {'bytes_list': tf.string, 'float_list': tf.float32, 'int64_list': tf.int64}


def fixture_records(model: str, split: str) -> list[bytes]:
    """The serialized tf.Examples of a fixture's `data/<split>.tfrecord`."""
    path = EXPORTS / model / 'data' / f'{split}.tfrecord'
    return [bytes(r) for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]


def write_records(path: pathlib.Path, records: Iterable[bytes], gzip: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options='GZIP' if gzip else None) as writer:
        for record in records:
            writer.write(record)


def make_examples(
    root: pathlib.Path, model: str, splits: Mapping[str, Sequence[bytes]] | None = None
) -> Any:
    """An Examples artifact at `root` with the fixture's train and eval rows (or `splits`)."""
    if splits is None:
        splits = {s: fixture_records(model, s) for s in ('train', 'eval')}
    for split, records in splits.items():
        write_records(root / f'Split-{split}' / 'data_tfrecord-00000-of-00001.gz', records)
    examples = standard_artifacts.Examples()
    examples.uri = str(root)
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    return examples


def make_model(root: pathlib.Path, model: str, saved_model: pathlib.Path | None = None) -> Any:
    """A Model artifact at `root` holding a copy of the fixture's SavedModel."""
    shutil.copytree(saved_model or EXPORTS / model / 'saved_model', root / 'Format-Serving')
    artifact = standard_artifacts.Model()
    artifact.uri = str(root)
    artifact.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, '1.16.0')
    return artifact


def make_output(artifact_type: type, root: pathlib.Path) -> Any:
    """An output artifact whose (empty) directory exists, as the TFX launcher makes it."""
    root.mkdir(parents=True, exist_ok=True)
    artifact = artifact_type()
    artifact.uri = str(root)
    return artifact


def listing(root: str | pathlib.Path) -> list[str]:
    """Every file and directory under `root`, relative, sorted."""
    base = pathlib.Path(root)
    return sorted(str(p.relative_to(base)) for p in base.rglob('*'))


def _feature_spec(model: str) -> dict[str, tuple[Any, Any, list[int]]]:
    data = json.loads((EXPORTS / model / 'reference.json').read_text())['data']
    spec = {}
    for column in [*data['features'], data['label']]:
        spec[column['name']] = (
            _PARSE_DTYPES[column['tf_example_kind']],
            tf.as_dtype(column['dtype']),
            column['row_shape'],
        )
    return spec


def parse_records(model: str, records: Sequence[bytes]) -> dict[str, tf.Tensor]:
    """All `records` as one batch of the fixture's features and label, parsed independently."""
    spec = _feature_spec(model)
    parsed = tf.io.parse_example(
        tf.constant(list(records)),
        {name: tf.io.FixedLenFeature(shape, kind) for name, (kind, _, shape) in spec.items()},
    )
    return {name: tf.cast(parsed[name], dtype) for name, (_, dtype, _) in spec.items()}


def core_evaluate(
    saved_model_dir: str, model: str, records: Sequence[bytes], model_dir: str | None = None
) -> dict[str, Any]:
    """The core's own `evaluate` over all `records` as one batch, with an independent parser."""

    def input_fn() -> tf.data.Dataset:
        return tf.data.Dataset.from_tensors(parse_records(model, records))

    estimator = SavedModelEstimator(saved_model_dir, model_dir=model_dir)
    return {k: float(v) for k, v in estimator.evaluate(input_fn).items()}
