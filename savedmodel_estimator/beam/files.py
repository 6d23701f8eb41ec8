"""Writing whole batches to files: one temporary file per bundle, renamed when all succeeded.

What Beam's `WriteToFiles`/`FileBasedSink` guarantee, in two pipeline stages instead of seven:
each bundle writes its elements into a file of its own under a temporary directory beside the
output, and names it when the bundle finishes; one finalizing step, which the runner runs only
once every bundle has succeeded, renames those files to `<prefix>-00000-of-00002<suffix>` and
removes the temporary directory. A failed bundle's file is never renamed (a retried bundle
writes a new one), so a failed run leaves nothing under the final names. With no element at
all, one empty file is written, as `FileBasedSink` does. Every stage of a pipeline costs the
runner tens of milliseconds to plan and start, more than a bundle of batches takes to write.

Files are reached through Beam's `FileSystems` (local paths, gs://, and the rest Beam knows).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import posixpath
import uuid
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import window

State = TypeVar('State')


class FileFormat(Protocol[State]):
    """How batches go into one file: `open` a writer over a binary handle, `write`, `close`."""

    suffix: str
    mime_type: str

    def open(self, handle: Any) -> State: ...

    def write(self, state: State, batch: Any) -> None: ...

    def close(self, state: State) -> None:
        """Finishes the file; the handle is closed by the caller."""


def _temp_dir(file_path_prefix: str) -> str:
    base, name = posixpath.split(file_path_prefix)
    return FileSystems.join(base or '.', f'.temp-{name}-{uuid.uuid4().hex}')


def shard_name(file_path_prefix: str, shard: int, shards: int, suffix: str) -> str:
    return f'{file_path_prefix}-{shard:05d}-of-{shards:05d}{suffix}'


class _OpenFile(Generic[State]):
    """A file a bundle writes: its batches are encoded and written on a thread of the file's own.

    Encoding is Python (it holds the GIL), but the bundle's thread spends most of its time in
    TensorFlow's `Session.run`, which releases it: writing batch k on this thread overlaps
    predicting batch k+1. At most `AHEAD` batches wait (memory stays flat); a failed write is
    raised by the next `write` or by `close`.
    """

    AHEAD = 2

    def __init__(self, path: str, file_format: FileFormat[State]) -> None:
        self.path = path
        self._format = file_format
        self._handle = FileSystems.create(
            path, file_format.mime_type, compression_type=CompressionTypes.UNCOMPRESSED
        )
        self._state = file_format.open(self._handle)
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='write')
        self._pending: collections.deque[concurrent.futures.Future[None]] = collections.deque()

    def write(self, batch: Any) -> None:
        while self._pending and (len(self._pending) >= self.AHEAD or self._pending[0].done()):
            self._pending.popleft().result()
        self._pending.append(self._thread.submit(self._format.write, self._state, batch))

    def close(self) -> None:
        """Waits for the writes, finishes the file and closes it."""
        try:
            while self._pending:
                self._pending.popleft().result()
            self._format.close(self._state)
        finally:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._handle.close()

    def abort(self) -> None:
        """Stops writing (a failed bundle): the file is left as it is, never renamed."""
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._handle.close()


class _WriteBundleFn(beam.DoFn, Generic[State]):
    """Writes each bundle's batches into a temporary file of its own; outputs its path."""

    def __init__(self, temp_dir: str, file_format: FileFormat[State]) -> None:
        self._temp_dir = temp_dir
        self._format = file_format
        self._file: _OpenFile[State] | None = None

    def start_bundle(self) -> None:
        self.discard_open_file()  # a file left open by a bundle that failed

    def process(self, batch: Any) -> Iterator[Any]:
        if self._file is None:  # `create` makes the directory where there are directories
            path = FileSystems.join(self._temp_dir, uuid.uuid4().hex)
            self._file = _OpenFile(path, self._format)
        self._file.write(batch)
        return iter(())

    def finish_bundle(self) -> Iterator[Any]:
        if self._file is None:
            return
        opened, self._file = self._file, None
        opened.close()
        yield window.GlobalWindows.windowed_value(opened.path)

    def teardown(self) -> None:
        self.discard_open_file()

    def discard_open_file(self) -> None:
        if self._file is not None:
            opened, self._file = self._file, None
            with contextlib.suppress(Exception):
                opened.abort()


def _finalize(
    _: bytes, temp_paths: list[str], prefix: str, temp_dir: str, file_format: FileFormat[Any]
) -> Iterator[str]:
    """Renames the bundles' files to their final names (one empty file if there were none)."""
    if not temp_paths:
        path = shard_name(prefix, 0, 1, file_format.suffix)
        _OpenFile(path, file_format).close()
        yield path
        return
    sources = sorted(temp_paths)
    targets = [shard_name(prefix, i, len(sources), file_format.suffix) for i in range(len(sources))]
    # A retried finalization finds some files renamed already.
    todo = [i for i, source in enumerate(sources) if FileSystems.exists(source)]
    FileSystems.rename([sources[i] for i in todo], [targets[i] for i in todo])
    try:
        FileSystems.delete([temp_dir])
    except OSError as err:  # leftovers of failed bundles, harmless beside the outputs
        logging.warning('Could not remove the temporary directory %s: %s', temp_dir, err)
    yield from targets


class WriteBatchFiles(beam.PTransform):
    """Writes a PCollection of batches into files named `<prefix>-SSSSS-of-NNNNN<suffix>`.

    Args:
        file_path_prefix: The files' path without the shard numbers and suffix.
        file_format: How batches are written into a file.

    Returns (from `expand`): a PCollection of the final file names.
    """

    def __init__(self, file_path_prefix: str, file_format: FileFormat[Any]) -> None:
        super().__init__()
        self._prefix = file_path_prefix
        self._format = file_format

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        temp_dir = _temp_dir(self._prefix)
        temp_paths = batches | 'WriteBundles' >> beam.ParDo(_WriteBundleFn(temp_dir, self._format))
        return (
            batches.pipeline
            | 'Once' >> beam.Impulse()
            | 'Finalize'
            >> beam.FlatMap(
                _finalize, beam.pvalue.AsList(temp_paths), self._prefix, temp_dir, self._format
            )
        )
