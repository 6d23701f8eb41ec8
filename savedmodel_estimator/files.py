"""Directory trees on any file system TensorFlow reads: copy one, publish one whole or not at all.

Paths are joined as strings, never normalised, so `gs://bucket/x` stays a URI. Publishing writes
into a staging directory beside the target and renames it into place once complete: on a local
file system the rename is atomic; on object stores (gs://) it is a copy, but a failure removes
the staging directory and leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator

import tensorflow as tf


def copy_tree(
    source: str,
    target: str,
    *,
    overwrite: bool = False,
    skip: Callable[[str], bool] | None = None,
) -> None:
    """Copies every file under `source` to the same relative path under `target`.

    Args:
        source: The directory to copy.
        target: Where to copy it; created, with the subdirectories.
        overwrite: Replace files that already exist under `target`.
        skip: Given a directory's path relative to `source` ('' for `source` itself), whether
            to leave it and its files out (the subdirectories are still walked).
    """
    source = source.rstrip('/')
    for dirpath, _, filenames in tf.io.gfile.walk(source):
        relative = dirpath[len(source) :].strip('/')
        if skip is not None and skip(relative):
            continue
        target_dir = os.path.join(target, relative) if relative else target
        tf.io.gfile.makedirs(target_dir)
        for filename in filenames:
            tf.io.gfile.copy(
                os.path.join(dirpath, filename),
                os.path.join(target_dir, filename),
                overwrite=overwrite,
            )


def remove_tree(path: str) -> None:
    """Removes `path` and everything under it, if it exists."""
    if tf.io.gfile.exists(path):
        tf.io.gfile.rmtree(path)


def staging_path(target: str, label: str) -> str:
    """A new hidden directory name beside `target`: `.<name>.<label>-<random hex>`."""
    parent, name = os.path.split(target.rstrip('/'))
    return os.path.join(parent, f'.{name}.{label}-{uuid.uuid4().hex}')


@contextlib.contextmanager
def removed_on_failure(path: str) -> Iterator[str]:
    """Yields `path`; if the block raises (anything, Ctrl-C too), removes the tree there first."""
    try:
        yield path
    except BaseException:
        remove_tree(path)
        raise


def move_into_place(source: str, target: str, *, warn_replacing: bool = False) -> None:
    """Renames the complete tree at `source` to `target`, removing what `target` held before.

    Args:
        warn_replacing: Log a warning when `target` exists (an earlier attempt's leftovers).
    """
    if tf.io.gfile.exists(target):
        if warn_replacing:
            logging.getLogger(__name__).warning('Replacing %s, left by an earlier attempt.', target)
        tf.io.gfile.rmtree(target)
    tf.io.gfile.rename(source, target)
