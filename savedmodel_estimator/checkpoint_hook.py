"""A `CheckpointSaverHook` that writes `graph.pbtxt` off the critical path before the first step.

The stock hook's `after_create_session` turns the graph into a GraphDef three times and writes
`graph.pbtxt` with Python's `text_format`: on a wide model about a third of a second, all before
step 1. This hook makes the GraphDef once, for `graph.pbtxt`, the graph event and the meta graph,
and writes `graph.pbtxt` on a background thread, so the text format overlaps the starting
checkpoint and the first steps, which run mostly outside the GIL.

Everything else stays synchronous and in the stock order: the graph and meta graph events go into
the events file before the starting checkpoint's, and the starting checkpoint captures the
variables before any step. `model_dir` ends up with the same files and content as with the stock
hook. A failed write is re-raised on the training thread: by the first step after it ends, by
`end()`, or by `join()`, which the caller must reach even when training raised.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import tensorflow as tf

from savedmodel_estimator import _tf_internal as internal

GRAPH_FILENAME = 'graph.pbtxt'


class BackgroundGraphCheckpointSaverHook(tf.compat.v1.train.CheckpointSaverHook):
    """`tf.compat.v1.train.CheckpointSaverHook` writing `graph.pbtxt` on a background thread."""

    _graph_write: Future[Any] | None = None

    def after_create_session(self, session: Any, coord: Any) -> None:
        self.join()  # A recreated session (after an abort) writes the graph again, as stock does.
        global_step = session.run(internal.saver_hook_global_step_tensor(self))
        graph = tf.compat.v1.get_default_graph()
        graph_def = graph.as_graph_def(add_shapes=True)
        saver = internal.saver_hook_saver(self)
        meta_graph_def = internal.create_meta_graph_def(
            graph_def=graph_def, saver_def=saver.saver_def if saver else None, graph=graph
        )
        writer = internal.saver_hook_summary_writer(self)
        internal.write_graph_event(writer, graph, graph_def)
        writer.add_meta_graph(meta_graph_def)
        checkpoint_dir = internal.saver_hook_checkpoint_dir(self)
        if internal.saver_hook_saves_graph_def(self):
            # Started only now: big-endian hosts byte-swap graph_def in place while writing it.
            executor = ThreadPoolExecutor(1, thread_name_prefix='write_graph_pbtxt')
            self._graph_write = executor.submit(
                tf.io.write_graph, graph_def, checkpoint_dir, GRAPH_FILENAME
            )
            executor.shutdown(wait=False)  # Its thread ends after the write; nothing waits here.
        # The checkpoint saved here is the state at step `global_step`.
        internal.saver_hook_save(self, session, global_step)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._graph_write is not None and self._graph_write.done():
            self.join()  # Fails training at the first step after a failed write, not at its end.
        super().after_run(run_context, run_values)

    def end(self, session: Any) -> None:
        self.join()
        super().end(session)

    def join(self, raise_error: bool = True) -> None:
        """Waits for the `graph.pbtxt` write; re-raises its exception, or logs it if not raise_error.

        The caller of `MonitoredTrainingSession` calls this when training raised (no `end()` then),
        with raise_error=False, so that the training error is the one raised.
        """
        graph_write, self._graph_write = self._graph_write, None
        if graph_write is None:
            return
        error = graph_write.exception()
        if error is None:
            return
        if raise_error:
            raise error
        checkpoint_dir = internal.saver_hook_checkpoint_dir(self)
        tf.compat.v1.logging.error(
            f'Writing {GRAPH_FILENAME} into {checkpoint_dir!r} failed too, after training had '
            f'failed (raised instead): {error}',
            exc_info=error,
        )
