"""An Examples artifact's splits, checked against a signature and read into its inputs.

What the components that run an Estimator graph over tf.Examples share: find a split's files,
peek at their first records to report a missing feature or a wrong kind with the file, record and
feature, refuse an empty split, and turn a TFRecord read or parse failure during a long run into
an error that names the files instead of a graph op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator import tf_errors
from savedmodel_estimator.serving import tf_example_inputs
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError, InputColumn
from savedmodel_estimator_tfx.components.common import artifacts

# Records peeked per file before a run; enough to catch a wrong export, cheap on any file size.
PEEK_RECORDS = 100

# tf.metadata Feature.type values (schema_pb2.FeatureType) for each tf.Example kind.
_SCHEMA_TYPE_OF_KIND = {'bytes_list': 1, 'int64_list': 2, 'float_list': 3}
_SCHEMA_TYPE_NAMES = {0: 'TYPE_UNKNOWN', 1: 'BYTES', 2: 'INT', 3: 'FLOAT', 4: 'STRUCT'}


def split_files(examples: Any, splits: Sequence[str]) -> dict[str, list[str]]:
    """The files of each requested split of an Examples artifact.

    Raises:
        ValueError: a split is not in the artifact, or its directory holds no files.
    """
    files = {}
    for split, pattern in artifacts.split_file_patterns(examples, splits).items():
        found = sorted(tf.io.gfile.glob(pattern))
        if not found:
            raise ValueError(
                f'Split {split!r} of the Examples artifact at {examples.uri!r} is empty: no '
                f'files match {pattern!r}. Check the ExampleGen that produced it.'
            )
        files[split] = found
    return files


def check_examples(
    files_by_split: Mapping[str, Sequence[str]],
    columns: Sequence[InputColumn],
    signature_name: str,
    peek: int = PEEK_RECORDS,
) -> list[InputColumn]:
    """Checks the first `peek` records of every file against the signature's columns.

    Returns:
        The columns to parse with: integer lists are read into float inputs when the records
        store them so (CsvExampleGen infers `0`/`1` columns as integers).

    Raises:
        ExampleFormatError: (a ValueError) a file is corrupt, a record lacks a feature or holds
            the wrong kind or length, naming the file, record and feature; or a split holds no
            records at all.
    """
    adapted: list[InputColumn] | None = None
    for split, files in files_by_split.items():
        total = 0
        for path, records in tf_example_inputs.peek_records(files, peek):
            if adapted is None and records:
                adapted = tf_example_inputs.adapt_to_records(columns, records)
            tf_example_inputs.check_records(records, adapted or columns, path, signature_name)
            total += len(records)
        if total == 0:
            raise ExampleFormatError(
                f'Split {split!r} holds no records: its files {list(files)} are all empty. '
                'Check the ExampleGen that produced it.'
            )
    return adapted if adapted is not None else list(columns)


def check_schema(schema_path: str, columns: Sequence[InputColumn], signature_name: str) -> None:
    """Checks that a tf.metadata schema has each column, with the kind the signature reads.

    Raises:
        ExampleFormatError: a column is missing from the schema or has another type.
    """
    from tfx.utils import io_utils  # tfx is heavy to import; only this check needs it.

    schema = io_utils.SchemaReader().read(schema_path)
    types = {feature.name: feature.type for feature in schema.feature}
    for column in columns:
        if column.name not in types:
            raise ExampleFormatError(
                f'Feature {column.name!r}, which the {signature_name!r} signature expects as '
                f'{column.describe()}, is not in the schema at {schema_path!r} (features: '
                f'{sorted(types)}).'
            )
        expected = _SCHEMA_TYPE_OF_KIND[column.kind]
        if types[column.name] != expected:
            found = _SCHEMA_TYPE_NAMES.get(types[column.name], str(types[column.name]))
            raise ExampleFormatError(
                f'Feature {column.name!r} is {found} in the schema at {schema_path!r}, but the '
                f'{signature_name!r} signature expects {column.describe()} (type '
                f'{_SCHEMA_TYPE_NAMES[expected]}).'
            )


def schema_file(schema_uri: str) -> str:
    """The schema file in a Schema artifact's directory (`schema.pbtxt` from SchemaGen)."""
    names = [n for n in tf.io.gfile.listdir(schema_uri) if not n.endswith('/')]
    if len(names) != 1:
        raise ValueError(
            f'Schema artifact at {schema_uri!r} should hold exactly one file; found {names}.'
        )
    return f'{schema_uri.rstrip("/")}/{names[0]}'


@contextlib.contextmanager
def readable_data_errors(files: Sequence[str], signature_name: str) -> Iterator[None]:
    """Turns a TFRecord read or tf.Example parse failure during a run into an error naming files.

    The records were peeked before the run; this catches what lies beyond the peek: a corrupt or
    truncated file, or a later record without a feature the signature needs. The core reports a
    DataLossError whose text says "corrupt" as a damaged checkpoint; the failing op (the input
    iterator, not a restore) tells the two apart.
    """
    try:
        yield
    except (tf.errors.OpError, ValueError) as err:
        cause = err if isinstance(err, tf.errors.OpError) else err.__cause__
        if not isinstance(cause, tf.errors.OpError) or not _is_input_op(cause):
            raise
        detail = tf_errors.last_line(tf_errors.message_of(cause))
        if isinstance(cause, tf.errors.DataLossError):
            raise ExampleFormatError(
                f'Reading the examples {list(files)} failed: a file is corrupt or truncated '
                f'({detail}). Regenerate the examples.'
            ) from err
        raise ExampleFormatError(
            f'A record in the examples {list(files)} does not match the {signature_name!r} '
            f'signature ({detail}). The first {PEEK_RECORDS} records of each file were '
            'checked; a later one differs.'
        ) from err


def _is_input_op(err: tf.errors.OpError) -> bool:
    """Whether the error came out of the input pipeline (reading or parsing), not the model."""
    op_type = getattr(err.op, 'type', '') or ''
    return op_type.startswith('IteratorGetNext') or 'IteratorGetNext' in (err.message or '')
