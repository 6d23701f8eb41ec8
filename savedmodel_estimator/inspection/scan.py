"""Whether an export may be imported: everything a model built elsewhere may not hold.

The scan itself lives in `model_safety`; `scan_ops` is its entry point for a path or a reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from savedmodel_estimator.inspection.summary import PathLike, reader_of
from savedmodel_estimator.model_safety import op_policy
from savedmodel_estimator.model_safety.findings import UnsafeOp
from savedmodel_estimator.model_safety.scan import scan_saved_model
from savedmodel_estimator.saved_model_reader import SavedModelReader

# The op types the reviewed table refuses by name, and why (the denylist this scan replaced).
UNSAFE_OPS: dict[str, str] = {
    op_type: category.reason for category in op_policy.REFUSED for op_type in category.names
}


def scan_ops(source: PathLike | SavedModelReader, allowed: Iterable[str] = ()) -> list[UnsafeOp]:
    """Everything in the SavedModel a model built elsewhere may not hold, graph by graph.

    See `savedmodel_estimator.model_safety.scan.scan_saved_model`: op types must be in
    TensorFlow's reviewed allowlist (`model_safety/op_policy.py`), checkpoint ops must be
    exactly the MetaGraph's saver, file reads must read the model's own assets, assets must stay
    inside assets/, and nothing may be pinned to another process.

    Args:
        source: The SavedModel directory, or a `SavedModelReader` over it.
        allowed: Op types to accept anyway, for a model you trust.

    Raises:
        ValueError: `allowed` names an op type TensorFlow does not register (likely a typo).
        SavedModelFormatError: the path is not a SavedModel.
    """
    return scan_saved_model(reader_of(source), allowed)
