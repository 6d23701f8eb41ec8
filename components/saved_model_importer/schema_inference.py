"""A tf.Metadata `Schema` inferred from an export's train and eval signatures.

Those signatures take the raw features and the label, keyed by feature name, so they say what
the training data must hold: each input becomes a feature with its type (BYTES, INT, FLOAT) and,
when every dimension but the batch is known, its fixed shape per example.
"""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import schema_pb2

from savedmodel_estimator.inspection import SavedModelSummary, TensorSummary
from savedmodel_estimator.mode_keys import ModeKeys

_SCHEMA_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL)
_FLOAT_DTYPES = frozenset({'float16', 'bfloat16', 'float32', 'float64'})
_INT_DTYPES = frozenset(
    {'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'}
)


class SchemaInferenceError(ValueError):
    """The export's signatures do not describe a feature schema."""

    def __init__(self, path: str, problem: str, hint: str) -> None:
        self.path = path
        super().__init__(f'Cannot infer a schema from the SavedModel at {path!r}: {problem} {hint}')


def _feature_type(path: str, tensor: TensorSummary) -> schema_pb2.FeatureType:
    if tensor.dtype == 'string':
        return schema_pb2.BYTES
    if tensor.dtype in _INT_DTYPES:
        return schema_pb2.INT
    if tensor.dtype in _FLOAT_DTYPES:
        return schema_pb2.FLOAT
    raise SchemaInferenceError(
        path,
        f'input {tensor.key!r} is {tensor.dtype}, which no tf.Example feature holds '
        '(expected a string, integer, bool or floating-point type).',
        'Import it with emit_schema=False.',
    )


def _per_example_shape(tensor: TensorSummary) -> list[int] | None:
    """The shape of one example (the signature's shape without the batch dimension), if fixed."""
    if tensor.sparse or not tensor.shape:
        return None
    rest = tensor.shape[1:]
    if any(size is None for size in rest):
        return None
    return [size for size in rest if size is not None]


def _inputs_by_name(summary: SavedModelSummary) -> dict[str, TensorSummary]:
    """The inputs of the train and eval signatures, checking the two agree on shared names."""
    found: dict[str, tuple[str, TensorSummary]] = {}
    for mode in _SCHEMA_MODES:
        signature = summary.signature(mode)
        for name, tensor in signature.inputs.items() if signature else ():
            seen = found.setdefault(name, (mode, tensor))
            earlier_mode, earlier = seen
            if (earlier.dtype, earlier.shape, earlier.sparse) != (
                tensor.dtype,
                tensor.shape,
                tensor.sparse,
            ):
                raise SchemaInferenceError(
                    summary.path,
                    f'input {name!r} is {earlier.dtype} {list(earlier.shape or [])} in the '
                    f'{earlier_mode!r} signature but {tensor.dtype} {list(tensor.shape or [])} '
                    f'in the {mode!r} signature.',
                    'Import it with emit_schema=False and provide a schema.',
                )
    if not found:
        raise SchemaInferenceError(
            summary.path,
            f'it has no train or eval signature (modes: {", ".join(summary.modes) or "none"}); '
            'a serving signature takes serialized examples, not features.',
            'Import it with emit_schema=False, or re-export it with all modes.',
        )
    return {name: tensor for name, (_, tensor) in found.items()}


def infer_schema(summary: SavedModelSummary) -> schema_pb2.Schema:
    """One feature per input of the train and eval signatures (features and label), by name.

    Raises:
        SchemaInferenceError: the export has no train or eval signature, the two disagree on an
            input, or an input has a type no tf.Example feature holds.
    """
    schema = schema_pb2.Schema()
    for name, tensor in sorted(_inputs_by_name(summary).items()):
        feature = schema.feature.add(name=name, type=_feature_type(summary.path, tensor))
        shape = _per_example_shape(tensor)
        if shape is not None:
            feature.shape.SetInParent()
            for size in shape:
                feature.shape.dim.add(size=size)
    return schema
