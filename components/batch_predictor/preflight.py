"""BatchPredictor's checks before its pipeline starts: the signature, and the first records of
every file, read once.

Everything that can be wrong with the inputs (no such signature, a record the signature cannot
read, a pass-through feature no record holds, an empty split) is reported here, naming the
file, record and feature, before any worker starts. The first records of each file are read
once, with the Beam package's reader (`reading.first_records`: zlib and a C loop, ~2 ms a file;
a tf.data pipeline per file cost ~50-80 ms), and serve every check: `example_inputs.
check_examples`'s, on records read here rather than by its own tf.data peek.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import tensorflow as tf

from savedmodel_estimator.encoding.reading import ReadError, first_records
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving import tf_example_inputs
from savedmodel_estimator.serving.signature_runner import (
    PASSTHROUGH_DTYPES,
    SignatureSpec,
    find_signature,
)
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError, InputColumn
from savedmodel_estimator_tfx.components.batch_predictor.options import PredictOptions
from savedmodel_estimator_tfx.components.common import example_inputs

PEEK_RECORDS = example_inputs.PEEK_RECORDS
Peeked = dict[str, list[tuple[str, list[bytes]]]]  # split -> [(file, its first records)]


@dataclasses.dataclass(frozen=True)
class Checked:
    """What the checks found: the signature to run, and records to warm its model up with."""

    spec: SignatureSpec
    sample: list[bytes]


def peek(files_by_split: Mapping[str, Sequence[str]], count: int = PEEK_RECORDS) -> Peeked:
    """The first `count` records of every file, by split.

    Raises:
        ExampleFormatError: (a ValueError) a file is corrupt or truncated within them.
    """
    peeked: Peeked = {}
    for split, files in files_by_split.items():
        peeked[split] = []
        for path in files:
            try:
                peeked[split].append((path, first_records(path, count)))
            except ReadError as err:
                raise ExampleFormatError(
                    f'TFRecord file {path!r} is corrupt or truncated ({err}).'
                ) from err
    return peeked


def passthrough_dtypes(
    peeked: Peeked, names: Sequence[str], peek_count: int = PEEK_RECORDS
) -> tuple[tuple[str, tf.dtypes.DType], ...]:
    """Each pass-through feature's dtype, from the first records of the files that hold it.

    Raises:
        ExampleFormatError: (a ValueError) a feature is in none of the records peeked.
    """
    if not names:
        return ()
    kinds: dict[str, str] = {}
    present: set[str] = set()
    for records in (records for pairs in peeked.values() for _, records in pairs):
        for record in records:
            features = tf.train.Example.FromString(record).features.feature
            present.update(features)
            for name in names:
                kind = features[name].WhichOneof('kind') if name in features else None
                if kind and name not in kinds:
                    kinds[name] = kind
    files = [path for pairs in peeked.values() for path, _ in pairs]
    for name in names:
        if name not in kinds:
            raise ExampleFormatError(
                f'Pass-through feature {name!r} is in none of the first {peek_count} records of '
                f'{files} (features present: {sorted(present)}). Check '
                'passthrough_features.'
            )
    return tuple((name, PASSTHROUGH_DTYPES[kinds[name]]) for name in names)


def check_records(peeked: Peeked, columns: Sequence[InputColumn], signature_name: str) -> None:
    """`example_inputs.check_examples` on the records peeked: kinds and lengths, empty splits.

    Raises:
        ExampleFormatError: (a ValueError) naming the file, record and feature; or a split that
            holds no records at all.
    """
    for split, pairs in peeked.items():
        for path, records in pairs:
            tf_example_inputs.check_records(records, columns, path, signature_name)
        if not any(records for _, records in pairs):
            raise ExampleFormatError(
                f'Split {split!r} holds no records: its files {[p for p, _ in pairs]} are all '
                'empty. Check the ExampleGen that produced it.'
            )


def signature_spec(
    model_dir: str, options: PredictOptions, files_by_split: Mapping[str, Sequence[str]]
) -> Checked:
    """The signature to run, checked against the first records of every file.

    Raises:
        ValueError: no such signature, or records that cannot feed it, naming file and record.
    """
    reader = SavedModelReader(model_dir)
    _, signature_def = find_signature(reader, options.signature_name, options.tags)
    peeked = peek(files_by_split)
    sample = next((records for pairs in peeked.values() for _, records in pairs if records), [])
    columns = None
    if not tf_example_inputs.takes_serialized_examples(signature_def):
        columns = tf_example_inputs.signature_columns(signature_def, options.signature_name)
        # Integer lists read into float inputs when the first record stores them so.
        columns = tf_example_inputs.adapt_to_records(columns, sample[:1])
    check_records(peeked, columns or [], options.signature_name)
    spec = SignatureSpec(
        model_dir,
        options.signature_name,
        options.tags,
        passthrough_features=passthrough_dtypes(peeked, options.passthrough_features),
        input_columns=tuple(columns) if columns is not None else None,
    )
    return Checked(spec, sample)
