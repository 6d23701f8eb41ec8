"""The whole check of a SavedModel from outside: every MetaGraph, and the files it holds."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable

import tensorflow as tf

from savedmodel_estimator.model_safety import registry
from savedmodel_estimator.model_safety.assets import links_outside
from savedmodel_estimator.model_safety.findings import Finding, Kind
from savedmodel_estimator.model_safety.graph_scan import scan_meta_graph
from savedmodel_estimator.saved_model_reader import SavedModelReader

PathLike = str | os.PathLike[str]


class UnknownOpTypeError(ValueError):
    """An op type given to allow is not one the running TensorFlow registers."""

    def __init__(self, op_type: str) -> None:
        self.op_type = op_type
        close = difflib.get_close_matches(op_type, registry.raw_op_types(), n=1, cutoff=0.6)
        hint = f'did you mean {close[0]!r}?' if close else 'see tf.raw_ops'
        super().__init__(
            f'Allowed op type {op_type!r} is not an op type TensorFlow {tf.__version__} '
            f'registers (op types are case-sensitive; {hint}).'
        )


def validate_allowed(allowed: Iterable[str]) -> frozenset[str]:
    """The op types to allow, each checked to be registered; raises `UnknownOpTypeError`."""
    names = frozenset(allowed)
    for name in sorted(names):
        if not registry.is_registered(name):
            raise UnknownOpTypeError(name)
    return names


def scan_saved_model(
    source: PathLike | SavedModelReader, allowed: Iterable[str] = ()
) -> list[Finding]:
    """Everything in the SavedModel a model from outside may not hold (see `model_safety`).

    Args:
        source: The SavedModel directory, or a `SavedModelReader` over it.
        allowed: Op types to accept although the scan refuses them, for a model you trust.
            Unregistered ops, devices of other processes and assets outside assets/ are
            refused whatever this says.

    Returns:
        The findings, graph by graph; empty when the model may be imported.

    Raises:
        UnknownOpTypeError (a ValueError): `allowed` names an op type TensorFlow does not
            register (likely a typo).
        SavedModelFormatError: the path is not a SavedModel.
    """
    names = validate_allowed(allowed)
    reader = (
        source
        if isinstance(source, SavedModelReader)
        else SavedModelReader(source, check_assets=False)
    )
    findings = [f for mg in reader.saved_model.meta_graphs for f in scan_meta_graph(mg, names)]
    for relative, target in links_outside(reader.export_dir):
        findings.append(
            Finding(
                '',
                relative,
                (),
                f'is a symbolic link to {target!r}, outside the SavedModel',
                'regular files inside the SavedModel directory',
                kind=Kind.FILE,
                subject='link',
            )
        )
    return findings
