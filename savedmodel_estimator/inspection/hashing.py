"""A deterministic hash of a directory's content (an export, wherever it lives)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import tensorflow as tf

from savedmodel_estimator.inspection.summary import PathLike


def _files(top: str) -> Iterator[tuple[str, str]]:
    """`(relative POSIX path, full path)` of every file under `top`, on any TF file system."""
    top = top.rstrip('/')
    for dirpath, _, filenames in tf.io.gfile.walk(top):
        relative_dir = dirpath[len(top) :].strip('/').replace(os.sep, '/')
        for filename in filenames:
            relative = f'{relative_dir}/{filename}' if relative_dir else filename
            yield relative, os.path.join(dirpath, filename)


def content_hash(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """The sha256 (hex) of a directory's content: every file's relative path and bytes.

    Deterministic and independent of where the directory lives: files are taken in sorted
    relative-path order, each contributing `<path>\\0<sha256 of its bytes>\\n`. Empty
    directories do not count.

    Raises:
        FileNotFoundError: the path is not a directory.
    """
    top = os.fspath(path)
    if not tf.io.gfile.isdir(top):
        raise FileNotFoundError(f'Cannot hash {top!r}: it is not a directory.')
    digest = hashlib.sha256()
    for relative, full in sorted(_files(top)):
        file_digest = hashlib.sha256()
        with tf.io.gfile.GFile(full, 'rb') as f:
            while chunk := f.read(chunk_size):
                file_digest.update(chunk)
        digest.update(f'{relative}\0{file_digest.hexdigest()}\n'.encode())
    return digest.hexdigest()
