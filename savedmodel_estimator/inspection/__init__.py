"""What an export holds, whether it may be imported, and a hash of its content.

* `inspect_saved_model` (summary.py): a typed summary (modes, MetaGraphs, signatures, variables,
  global step, op counts), the facts a pipeline records about a model it imports.
* `scan_ops` (scan.py): everything a model built elsewhere may not hold, by construction: op
  types outside TensorFlow's reviewed allowlist, a saver that is not exactly a saver, assets
  outside assets/, unregistered ops, devices of other processes (`model_safety` does the scan).
* `content_hash` (hashing.py): a deterministic sha256 over every file of a directory.
"""

from savedmodel_estimator.inspection.hashing import content_hash
from savedmodel_estimator.inspection.scan import UNSAFE_OPS, scan_ops
from savedmodel_estimator.inspection.summary import (
    MetaGraphSummary,
    SavedModelSummary,
    SignatureSummary,
    TensorSummary,
    VariableSummary,
    inspect_saved_model,
)
from savedmodel_estimator.model_safety.findings import Finding, UnsafeOp

__all__ = [
    'UNSAFE_OPS',
    'Finding',
    'MetaGraphSummary',
    'SavedModelSummary',
    'SignatureSummary',
    'TensorSummary',
    'UnsafeOp',
    'VariableSummary',
    'content_hash',
    'inspect_saved_model',
    'scan_ops',
]
