"""Which op types the running TensorFlow registers, through its public API only.

`tf.raw_ops` has an endpoint for every op TensorFlow builds a Python wrapper for: the registry
minus its internal (`_Arg`), test, XLA/TPU-only and a few legacy ops, all of which the table
refuses by family. An op type outside it is checked by importing a one-node graph: TensorFlow
answers NotFoundError ("Op type not registered") only for an op no loaded library registers,
which is what a model built with a custom-op library holds.
"""

from __future__ import annotations

import functools

import tensorflow as tf


@functools.cache
def raw_op_types() -> frozenset[str]:
    """The op types `tf.raw_ops` has an endpoint for, in the running TensorFlow."""
    return frozenset(name for name in dir(tf.raw_ops) if not name.startswith('_'))


_PROBED: set[str] = set()  # registered op types found by probing (a "no" may change later)


def is_registered(op_type: str) -> bool:
    """Whether the running TensorFlow (with the op libraries loaded so far) registers `op_type`.

    The probe graph is only imported, never run.
    """
    if op_type in raw_op_types() or op_type in _PROBED:
        return True
    graph_def = tf.compat.v1.GraphDef()
    graph_def.node.add(name='probe', op=op_type)
    with tf.Graph().as_default():
        try:
            tf.compat.v1.import_graph_def(graph_def, name='')
        except tf.errors.NotFoundError:
            return False
        except (ValueError, tf.errors.OpError):
            pass  # registered: the probe only lacks the op's attributes or inputs
    _PROBED.add(op_type)
    return True
