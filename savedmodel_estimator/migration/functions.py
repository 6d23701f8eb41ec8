"""The tf.functions of a migrated model: serving, `train_step`, and the eval metrics.

Each is a `tf.function` with a fixed input signature around a function pruned from one wrapped
MetaGraph (`wrapped.py`). They capture the shared TF2 variables and tables, so a
`tf.saved_model.save` of an object holding them writes one set of variables that all of them use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator.checkpoints import GLOBAL_STEP
from savedmodel_estimator.migration.graph_index import op_name
from savedmodel_estimator.migration.signatures import (
    Entry,
    entries,
    flatten,
    from_dense_parts,
    graph_tensors,
    pack,
)
from savedmodel_estimator.migration.wrapped import WrappedMetaGraph

LOSS = 'loss'
_METRICS, _VALUE, _UPDATE_OP = 'metrics', 'value', 'update_op'


@dataclasses.dataclass
class Serving:
    """One serving signature: its SignatureDef method, the signature function (dense named
    inputs) and the endpoint (one argument: the tensor, or a dict for several inputs)."""

    method_name: str
    signature: Any
    endpoint: Any


def serving(wrapped: WrappedMetaGraph, keys: Sequence[str]) -> dict[str, Serving]:
    """The functions of serving signatures `keys`, which read the same input tensors.

    Estimator exports give several signatures (classification, regression, predict) over one
    input tensor; one function pruned for all their outputs serves each of them, rather than
    one (slow to prune) per signature.
    """
    signature_defs = {key: wrapped.info.meta_graph.signature_def[key] for key in keys}
    feeds = sorted({t for sd in signature_defs.values() for t in graph_tensors(entries(sd.inputs))})
    fetches = sorted(
        {t for sd in signature_defs.values() for t in graph_tensors(entries(sd.outputs))}
    )
    pruned = wrapped.prune(feeds, fetches)
    return {key: _serving(sd, pruned, feeds, fetches) for key, sd in signature_defs.items()}


def _serving(signature_def: Any, pruned: Any, feeds: list[str], fetches: list[str]) -> Serving:
    inputs, outputs = entries(signature_def.inputs), entries(signature_def.outputs)
    feed_order = [graph_tensors(inputs).index(name) for name in feeds]
    positions = [fetches.index(name) for name in graph_tensors(outputs)]

    def run(values: dict[str, Any]) -> dict[str, Any]:
        flat = flatten(inputs, values)
        fetched = pruned(*(flat[i] for i in feed_order))
        return pack(outputs, [fetched[i] for i in positions])

    dense_specs = [spec for item in inputs for spec in item.dense_specs()]
    # Keyword-only by name: what TF Serving and `loaded.signatures[key](**inputs)` pass.
    names = [spec.name for spec in dense_specs]
    signature = tf.function(
        lambda *args: run(from_dense_parts(inputs, dict(zip(names, args, strict=True)))),
        input_signature=dense_specs,
    )
    if len(inputs) == 1:
        endpoint = tf.function(lambda value: run({inputs[0].key: value}), [inputs[0].spec])
    else:
        specs = {item.key: item.spec for item in inputs}
        endpoint = tf.function(run, [specs])
    return Serving(signature_def.method_name, signature.get_concrete_function(), endpoint)


@dataclasses.dataclass(frozen=True)
class Supervised:
    """How (features, labels) map to a train or eval signature's inputs."""

    features: list[Entry]
    labels: list[Entry]

    @property
    def input_signature(self) -> list[Any]:
        features = {item.key: item.spec for item in self.features}
        if len(self.labels) == 1:
            return [features, self.labels[0].spec]
        return [features, {item.key: item.spec for item in self.labels}]

    def values(self, features: dict[str, Any], labels: Any) -> dict[str, Any]:
        if len(self.labels) == 1:
            labels = {self.labels[0].key: labels}
        return {**features, **labels}

    @property
    def inputs(self) -> list[Entry]:
        return sorted(self.features + self.labels, key=lambda item: item.key)


def supervised(wrapped: WrappedMetaGraph, key: str, label_keys: Sequence[str]) -> Supervised:
    """The features and labels of signature `key`, labels being `label_keys`.

    Raises:
        ValueError: a label key is not an input of the signature.
    """
    inputs = entries(wrapped.info.meta_graph.signature_def[key].inputs)
    missing = sorted(set(label_keys) - {item.key for item in inputs})
    if missing:
        raise ValueError(
            f'label keys {missing} are not inputs of the {key!r} signature '
            f'(inputs: {sorted(item.key for item in inputs)}).'
        )
    features = [item for item in inputs if item.key not in label_keys]
    labels = [item for item in inputs if item.key in label_keys]
    return Supervised(features, labels)


def train_step(wrapped: WrappedMetaGraph, inputs: Supervised, train_op: str) -> Any:
    """`train_step(features, labels) -> loss`: one step of the export's own train op."""
    signature_def = wrapped.info.meta_graph.signature_def['train']
    loss = entries({LOSS: signature_def.outputs[LOSS]})
    items = inputs.inputs
    pruned = wrapped.prune(graph_tensors(items), [*graph_tensors(loss), train_op])

    def step(features: dict[str, Any], labels: Any) -> Any:
        return pruned(*flatten(items, inputs.values(features, labels)))[0]

    return tf.function(step, input_signature=inputs.input_signature)


def _metric_outputs(signature_def: Any) -> tuple[list[Entry], list[Entry]]:
    """(value entries, update-op entries) of `metrics/<name>/value|update_op` outputs."""
    values, updates = [], []
    for key in sorted(signature_def.outputs):
        parts = key.split('/')
        if parts[0] != _METRICS or parts[-1] not in (_VALUE, _UPDATE_OP):
            continue
        name = '/'.join(parts[:-1])
        pair = {p: f'{name}/{p}' for p in (_VALUE, _UPDATE_OP)}
        if all(k in signature_def.outputs for k in pair.values()) and parts[-1] == _VALUE:
            values.append(Entry(name, None, (signature_def.outputs[pair[_VALUE]].name,)))
            updates.append(Entry(name, None, (signature_def.outputs[pair[_UPDATE_OP]].name,)))
    return values, updates


@dataclasses.dataclass
class Metrics:
    """`update_metrics(features, labels)`, `metrics()`, `reset_metrics()`, and the two
    variables of the mean of the loss that `evaluate()` reported as `loss`."""

    update_metrics: Any
    metrics: Any
    reset_metrics: Any
    loss_mean: list[tf.Variable]


def metrics(
    wrapped: WrappedMetaGraph,
    inputs: Supervised,
    metric_initializers: list[str],
    global_step: tf.Variable | None,
) -> Metrics:
    """The eval MetaGraph's metrics as functions over its (shared) metric variables.

    As `evaluate()` did: `loss` is the mean of the batches' losses and `global_step` the
    model's step; metric keys are the signature's, `metrics/<name>`.

    Raises:
        ValueError: a metric's value depends on the inputs (it must read only its variables).
    """
    signature_def = wrapped.info.meta_graph.signature_def['eval']
    values, updates = _metric_outputs(signature_def)
    loss = entries({LOSS: signature_def.outputs[LOSS]})
    items = inputs.inputs
    update = wrapped.prune(graph_tensors(items), [*graph_tensors(updates), *graph_tensors(loss)])
    fed = {op_name(name) for name in graph_tensors(items)}
    reads_inputs = [
        item.key
        for item in values
        if fed & wrapped.info.index.ancestors(item.tensors, graph_tensors(items))
    ]
    if reads_inputs:
        raise ValueError(
            f'metrics {reads_inputs} of the eval signature compute their value from the '
            'inputs, not from their variables alone.'
        )
    read = wrapped.prune([], graph_tensors(values))
    reset = wrapped.prune([], metric_initializers) if metric_initializers else None
    total = tf.Variable(0.0, trainable=False, name='loss_mean/total')
    count = tf.Variable(0.0, trainable=False, name='loss_mean/count')

    def update_metrics(features: dict[str, Any], labels: Any) -> Any:
        batch_loss = update(*flatten(items, inputs.values(features, labels)))[-1]
        total.assign_add(tf.cast(batch_loss, tf.float32))
        count.assign_add(1.0)
        return batch_loss

    def read_metrics() -> dict[str, Any]:
        results = dict(zip((item.key for item in values), read(), strict=True))
        results[LOSS] = tf.math.divide_no_nan(total.read_value(), count.read_value())
        if global_step is not None:
            results[GLOBAL_STEP] = global_step.read_value()
        return results

    def reset_metrics() -> None:
        if reset is not None:
            reset()
        total.assign(0.0)
        count.assign(0.0)

    return Metrics(
        tf.function(update_metrics, input_signature=inputs.input_signature),
        tf.function(read_metrics, input_signature=[]),
        tf.function(reset_metrics, input_signature=[]),
        [total, count],
    )
