"""Checking CSV files before ExampleGen reads them: UTF-8, and finite numbers where the model reads them.

CsvExampleGen decodes inside a Beam pipeline: a byte that is not UTF-8 ends the run in a
UnicodeDecodeError naming neither file nor line, and a `nan` or `inf` cell becomes a float
feature that silently turns the trained model into a constant. Reading the files first, line by
line, names the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Iterable, Iterator
from typing import IO

import tensorflow as tf

from savedmodel_estimator_tfx.components.common.finite_values import CONSEQUENCE

# The largest float32: a cell beyond it (`1e39`) becomes an infinity in a float32 feature.
FLOAT32_MAX = 3.4028234663852886e38


class CsvFormatError(ValueError):
    """A CSV file is not UTF-8, or holds a value the pipeline refuses."""


def _open(path: str) -> IO[bytes]:
    if '://' in path:
        return tf.io.gfile.GFile(path, 'rb')
    return open(path, 'rb')


def _decoded_lines(raw_lines: Iterable[bytes], path: str) -> Iterator[str]:
    """The file's lines as text; a line that is not UTF-8 is reported with its number."""
    for number, raw in enumerate(raw_lines, start=1):
        try:
            yield raw.decode('utf-8')
        except UnicodeDecodeError as err:
            context = raw[max(0, err.start - 20) : err.end + 20].decode('utf-8', 'replace')
            raise CsvFormatError(
                f'CSV file {path!r} line {number} is not UTF-8: byte 0x{raw[err.start]:02x} at '
                f'column {err.start + 1} (in {context.strip()!r}). ExampleGen reads CSV as '
                'UTF-8: convert the file, e.g. `iconv -f latin1 -t utf-8 IN > OUT`.'
            ) from None


def _is_non_finite(cell: str) -> bool:
    text = cell.strip()
    if not text:
        return False
    try:
        value = float(text)
    except ValueError:
        return False  # not a number: not this check's to report
    return not math.isfinite(value) or abs(value) > FLOAT32_MAX


def check_csv_file(
    path: str, numeric_columns: Collection[str], refuse_non_finite: bool, how_to_allow: str
) -> int:
    """Reads a CSV file with a header whole; returns its number of data rows.

    Args:
        path: The file (local, or any filesystem TensorFlow reads).
        numeric_columns: The columns the model reads as numbers.
        refuse_non_finite: Refuse NaN, infinities and float32 overflows in those columns.
        how_to_allow: How the user lets non-finite values through, for the message.

    Raises:
        CsvFormatError: (a ValueError) a line is not UTF-8, or a numeric cell is not finite,
            naming the file, the line and the column.
    """
    with _open(path) as f:
        reader = csv.reader(_decoded_lines(f, path))
        header = next(reader, None)
        if header is None:
            return 0
        checked = (
            [(i, name.strip()) for i, name in enumerate(header) if name.strip() in numeric_columns]
            if refuse_non_finite
            else []
        )
        rows = 0
        for row in reader:
            rows += 1
            for index, name in checked:
                if index < len(row) and _is_non_finite(row[index]):
                    raise CsvFormatError(
                        f'Feature {name!r} in CSV file {path!r} line {reader.line_num} is '
                        f'{row[index].strip()!r}, which is not a finite float32: the data must '
                        f'be finite. {CONSEQUENCE} Fix or drop the row, or {how_to_allow}.'
                    )
        return rows
