"""The informative line of a TensorFlow error message, for messages of our own.

TensorFlow's op errors end with a trailer about where in the graph they happened (`[[{{node
...}}]]`, `Detected at node`, Python frames); our messages say what was wrong and keep only the
line that says it.
"""

from __future__ import annotations

import tensorflow as tf

# Lines that say where in the graph an error happened, not what was wrong.
_NOISE = ('Graph execution error', 'Detected at node', 'Node:', '[[', 'File ')
_MAX_REASON = 300


def message_of(err: BaseException) -> str:
    """An error's message: an OpError's own, else its text."""
    if isinstance(err, tf.errors.OpError):
        return err.message or str(err)
    return str(err)


def last_line(message: str) -> str:
    """The last non-empty line of a message that is not its graph-node trailer (`[[...]]`)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith('[[')]
    return (meaningful or lines or [''])[-1]


def reason(err: tf.errors.OpError) -> str:
    """The first line of an op error that says what was wrong, at most 300 characters."""
    lines = [line.strip() for line in message_of(err).splitlines()]
    useful = [line for line in lines if line and not line.startswith(_NOISE)]
    first = useful[0] if useful else lines[0]
    return first if len(first) <= _MAX_REASON else first[:_MAX_REASON] + '...'
