"""A damaged checkpoint's low-level restore error, rewritten to name the files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from savedmodel_estimator.errors import SavedModelFormatError


@contextlib.contextmanager
def readable_restore_errors(checkpoint: str | None) -> Iterator[None]:
    """Turns a damaged checkpoint's low-level error into one that names the files.

    Only errors raised by restore ops are rewritten: a corrupt input file also raises
    DataLossError, and must keep its own message.
    """
    try:
        yield
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        op_type = err.node_def.op if err.node_def is not None else ''
        if checkpoint is None or not op_type.startswith('Restore'):
            raise
        raise SavedModelFormatError(
            checkpoint,
            f'the variables could not be read ({type(err).__name__}: {str(err).splitlines()[0]}).',
            'The checkpoint files (variables.index / variables.data-*) are damaged or '
            'truncated; restore them from the original export.',
        ) from err
