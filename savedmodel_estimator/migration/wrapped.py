"""Each MetaGraph imported into a wrapped function whose resources are the shared TF2 objects.

`tf.compat.v1.wrap_function` gives a function graph to import a MetaGraph's GraphDef into;
`input_map` replaces the output of every resource node (`VarHandleOp`, `HashTableV2`, ...) by a
capture of the shared object's handle, so every op that read or wrote the MetaGraph's own
variable now reads or writes the shared `tf.Variable`. `prune` then cuts the function that runs
given fetches from given feeds: a signature, the train op, a metric update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from savedmodel_estimator.migration.graph_index import op_name
from savedmodel_estimator.migration.inventory import MetaGraphInventory
from savedmodel_estimator.migration.resources import Resources

_CAPTURE_PREFIX = 'sme_migrated_resource'


class WrappedMetaGraph:
    """One MetaGraph, imported once, from which functions are pruned.

    Args:
        info: The MetaGraph.
        resources: The shared TF2 objects its resource nodes are rewired to.
    """

    def __init__(self, info: MetaGraphInventory, resources: Resources) -> None:
        self.info = info
        self._resources = resources
        self._handles = resources.handles(info)
        graph_def = graph_pb2.GraphDef()
        graph_def.CopyFrom(info.meta_graph.graph_def)
        for node in graph_def.node:
            node.device = ''  # placement is the serving host's business, not the export's
        self._graph_def = graph_def
        self.function = tf.compat.v1.wrap_function(self._import, signature=[])

    def _import(self) -> None:
        graph = tf.compat.v1.get_default_graph()
        input_map = {
            f'{node}:0': graph.capture(handle, name=f'{_CAPTURE_PREFIX}_{i}')
            for i, (node, handle) in enumerate(sorted(self._handles.items()))
        }
        tf.graph_util.import_graph_def(self._graph_def, input_map=input_map, name='')

    def asset_feeds(self, feeds: Sequence[str], fetches: Sequence[str]) -> list[str]:
        """The asset path tensors that running `fetches` from `feeds` reads, in a fixed order."""
        ops = self.info.index.ancestors(fetches, feeds)
        return sorted(name for name in self.info.assets if op_name(name) in ops)

    def prune(self, feeds: Sequence[str], fetches: Sequence[str]) -> PrunedFunction:
        """The function that computes `fetches` (tensor names, or op names to run) from
        `feeds` (tensor names), with the asset paths it reads fed from the migrated assets.
        """
        assets = self.asset_feeds(feeds, fetches)
        effects = [op for op in self.info.index.effects(fetches, feeds) if op not in fetches]
        graph = self.function.graph
        elements = [graph.as_graph_element(name) for name in [*fetches, *effects]]
        function = self.function.prune(
            feeds=[graph.as_graph_element(name) for name in [*feeds, *assets]], fetches=elements
        )
        paths = [self._resources.asset(self.info.assets[name]) for name in assets]
        return PrunedFunction(function, paths, len(feeds), len(fetches))


class PrunedFunction:
    """A pruned function and the assets whose paths it takes after its own inputs."""

    def __init__(
        self, function: Any, assets: list[tf.saved_model.Asset], n_inputs: int, n_outputs: int
    ) -> None:
        self.function = function
        self.assets = assets
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs

    def __call__(self, *inputs: Any) -> list[Any]:
        """Runs it on `inputs` (one tensor per feed); returns one value per fetch (None for
        an op)."""
        if len(inputs) != self.n_inputs:
            raise TypeError(f'expected {self.n_inputs} inputs, got {len(inputs)}')
        outputs = self.function(*inputs, *(asset.asset_path for asset in self.assets))
        return list(outputs)[: self.n_outputs]
