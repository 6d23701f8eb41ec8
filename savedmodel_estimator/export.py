"""Input receivers, as in `tensorflow_estimator`'s `export_lib`, without tensorflow-estimator.

Same names, validation and error texts as the original. The `build_raw_*` functions also take
`tf.TensorSpec`/`tf.SparseTensorSpec`, eager tensors and numpy arrays as templates, since TF2
code rarely has a placeholder to pass; placeholders are made in the default graph when the
returned receiver fn is called.
"""

import collections
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import tensorflow as tf

SINGLE_FEATURE_DEFAULT_NAME = 'feature'
SINGLE_LABEL_DEFAULT_NAME = 'label'
SINGLE_RECEIVER_DEFAULT_NAME = 'input'

_SINGLE_TENSOR_DEFAULT_NAMES = {
    'feature': SINGLE_FEATURE_DEFAULT_NAME,
    'label': SINGLE_LABEL_DEFAULT_NAME,
    'receiver_tensor': SINGLE_RECEIVER_DEFAULT_NAME,
    'receiver_tensors_alternative': SINGLE_RECEIVER_DEFAULT_NAME,
}


Tensors = Any  # A Tensor, SparseTensor or RaggedTensor, or a dict of name to those.
Templates = Any  # A TensorSpec, SparseTensorSpec, tensor or numpy array, or a dict of them.


def wrap_and_check_input_tensors(
    tensors: Tensors, field_name: str, allow_int_keys: bool = False
) -> dict[Any, Any]:
    """Ensures that `tensors` is a dict of name to Tensor, wrapping a single tensor.

    Args:
        tensors: A Tensor, SparseTensor or RaggedTensor, or a dict of `str` (or `int` if
            `allow_int_keys`) to those.
        field_name: 'feature', 'label', 'receiver_tensor' or 'receiver_tensors_alternative':
            named in errors, and picks the key a single tensor is wrapped under.
        allow_int_keys: Whether `int` keys are accepted besides `str`.

    Returns:
        The dict that was passed, or the single tensor wrapped in a one-entry dict.

    Raises:
        ValueError: If `tensors` is None, or has keys of the wrong type or non-tensor values.
    """
    if tensors is None:
        raise ValueError(f'{field_name}s must be defined.')
    if not isinstance(tensors, dict):
        if field_name not in _SINGLE_TENSOR_DEFAULT_NAMES:
            raise ValueError(
                f'Cannot wrap a single tensor for unknown field {field_name!r}; '
                f'expected one of {sorted(_SINGLE_TENSOR_DEFAULT_NAMES)}.'
            )
        tensors = {_SINGLE_TENSOR_DEFAULT_NAMES[field_name]: tensors}
    for name, tensor in tensors.items():
        _check_tensor_key(name, field_name, allow_int_keys)
        _check_tensor(tensor, name, field_name)
    return tensors


def _check_tensor(tensor: Any, name: Any, error_label: str = 'feature') -> None:
    if not isinstance(tensor, tf.Tensor | tf.SparseTensor | tf.RaggedTensor):
        fmt_name = f' {name}' if name else ''
        raise ValueError(
            f'{error_label}{fmt_name} must be a Tensor, SparseTensor, or RaggedTensor. '
            f'Found {type(tensor).__name__}.'
        )


def _check_tensor_key(name: Any, error_label: str, allow_ints: bool) -> None:
    if isinstance(name, str):
        return
    if not allow_ints:
        raise ValueError(f'{error_label} keys must be strings: {name}.')
    if not isinstance(name, int):
        raise ValueError(f'{error_label} keys must be strings or ints: {name}.')


# The fields shared by the serving receivers; namedtuple's repr shows the subclass name.
_ServingFields = collections.namedtuple(
    '_ServingFields', ['features', 'receiver_tensors', 'receiver_tensors_alternatives']
)


class ServingInputReceiver(_ServingFields):
    """The return type of a serving_input_receiver_fn.

    Attributes:
        features: Dict of `str` or `int` to Tensor, SparseTensor or RaggedTensor passed to the
            model; a single tensor is wrapped as `{'feature': tensor}`.
        receiver_tensors: Dict of `str` to the tensors the receiver expects to be fed; a single
            tensor is wrapped as `{'input': tensor}`.
        receiver_tensors_alternatives: None, or a dict of name to further receiver tensor
            groups (each wrapped like `receiver_tensors`) that become extra signatures.
    """

    def __new__(
        cls,
        features: Tensors,
        receiver_tensors: Tensors,
        receiver_tensors_alternatives: Mapping[str, Tensors] | None = None,
    ) -> 'ServingInputReceiver':
        features = wrap_and_check_input_tensors(features, 'feature', allow_int_keys=True)
        receiver_tensors = wrap_and_check_input_tensors(receiver_tensors, 'receiver_tensor')
        if receiver_tensors_alternatives is not None:
            if not isinstance(receiver_tensors_alternatives, dict):
                raise ValueError(
                    'receiver_tensors_alternatives must be a dict: '
                    f'{receiver_tensors_alternatives}.'
                )
            receiver_tensors_alternatives = {
                name: wrap_and_check_input_tensors(group, 'receiver_tensors_alternative')
                for name, group in receiver_tensors_alternatives.items()
            }
        return super().__new__(cls, features, receiver_tensors, receiver_tensors_alternatives)


class TensorServingInputReceiver(_ServingFields):
    """A `ServingInputReceiver` whose `features` is one tensor, passed to the model unwrapped."""

    def __new__(
        cls,
        features: Tensors,
        receiver_tensors: Tensors,
        receiver_tensors_alternatives: Mapping[str, Tensors] | None = None,
    ) -> 'TensorServingInputReceiver':
        if features is None:
            raise ValueError('features must be defined.')
        _check_tensor(features, None)
        receiver = ServingInputReceiver(features, receiver_tensors, receiver_tensors_alternatives)
        return super().__new__(
            cls,
            receiver.features[SINGLE_FEATURE_DEFAULT_NAME],
            receiver.receiver_tensors,
            receiver.receiver_tensors_alternatives,
        )


class UnsupervisedInputReceiver(ServingInputReceiver):
    """A training or eval receiver without labels and without receiver alternatives."""

    def __new__(cls, features: Tensors, receiver_tensors: Tensors) -> 'UnsupervisedInputReceiver':
        return super().__new__(cls, features, receiver_tensors, None)  # type: ignore[return-value]


class SupervisedInputReceiver(
    collections.namedtuple('SupervisedInputReceiver', ['features', 'labels', 'receiver_tensors'])
):
    """The return type of a training or eval input receiver fn: features, labels and feeds.

    Attributes:
        features: A tensor or a dict of `str` or `int` to tensor, kept as given (not wrapped).
        labels: A tensor or a dict of `str` or `int` to tensor, kept as given (not wrapped).
        receiver_tensors: Dict of `str` to the tensors the receiver expects to be fed; a single
            tensor is wrapped as `{'input': tensor}`.
    """

    def __new__(
        cls, features: Tensors, labels: Tensors, receiver_tensors: Tensors
    ) -> 'SupervisedInputReceiver':
        # Validation only: features and labels reach the model_fn exactly as given.
        wrap_and_check_input_tensors(features, 'feature', allow_int_keys=True)
        wrap_and_check_input_tensors(labels, 'label', allow_int_keys=True)
        receiver_tensors = wrap_and_check_input_tensors(receiver_tensors, 'receiver_tensor')
        return super().__new__(cls, features, labels, receiver_tensors)


def build_parsing_serving_input_receiver_fn(
    feature_spec: Mapping[str, Any], default_batch_size: int | None = None
) -> Callable[[], ServingInputReceiver]:
    """Builds a serving_input_receiver_fn that parses fed serialized `tf.Example`s.

    Args:
        feature_spec: Dict of feature name to `tf.io.FixedLenFeature`, `VarLenFeature`, etc.
        default_batch_size: Examples per batch; None (recommended) for a variable batch.

    Returns:
        A fn that, called inside a graph, makes a string placeholder `input_example_tensor`
        of shape [default_batch_size] and returns a `ServingInputReceiver` whose features
        are the parsed tensors and whose receiver tensors are `{'examples': placeholder}`.
    """

    def serving_input_receiver_fn() -> ServingInputReceiver:
        serialized_tf_example = tf.compat.v1.placeholder(
            dtype=tf.string, shape=[default_batch_size], name='input_example_tensor'
        )
        features = tf.compat.v1.io.parse_example(serialized_tf_example, feature_spec)
        return ServingInputReceiver(features, {'examples': serialized_tf_example})

    return serving_input_receiver_fn


class _Template(NamedTuple):
    spec: Any  # A tf.TensorSpec or tf.SparseTensorSpec.
    name: str | None


def _template(value: Any, where: str) -> _Template:
    """Resolves a template value; names follow the original (a graph tensor's op name)."""
    if isinstance(value, tf.SparseTensorSpec):
        return _Template(value, None)
    if isinstance(value, tf.TensorSpec):
        return _Template(value, value.name)
    if isinstance(value, tf.TypeSpec | tf.RaggedTensor) or not (
        hasattr(value, 'dtype') and hasattr(value, 'shape')
    ):
        raise TypeError(
            f'{where} must be a tf.TensorSpec, tf.SparseTensorSpec, Tensor, SparseTensor or '
            f'numpy array to build a placeholder from; found {type(value).__name__}.'
        )
    try:
        name = value.op.name
    except AttributeError:  # Eager tensors and numpy arrays have no op: TF picks the name.
        name = None
    shape, dtype = tf.TensorShape(value.shape), tf.as_dtype(value.dtype)
    spec_type = tf.SparseTensorSpec if isinstance(value, tf.SparseTensor) else tf.TensorSpec
    return _Template(spec_type(shape, dtype), name)


def _templates(values: Templates, where: str) -> _Template | dict[Any, _Template]:
    """Resolves a template or a dict of them when the receiver fn is built, not called."""
    if isinstance(values, dict):
        return {key: _template(value, f'{where}[{key!r}]') for key, value in values.items()}
    return _template(values, where)


def _placeholder(template: _Template, default_batch_size: int | None) -> Any:
    """Creates a (sparse) placeholder, its first dimension replaced by the batch size."""
    spec = template.spec
    shape = tf.TensorShape([default_batch_size]).concatenate(spec.shape[1:])
    if isinstance(spec, tf.SparseTensorSpec):
        return tf.compat.v1.sparse.placeholder(spec.dtype, shape=shape, name=template.name)
    return tf.compat.v1.placeholder(spec.dtype, shape=shape, name=template.name)


def _placeholders(templates: _Template | dict[Any, _Template], batch_size: int | None) -> Any:
    if isinstance(templates, dict):
        return {key: _placeholder(t, batch_size) for key, t in templates.items()}
    return _placeholder(templates, batch_size)


def build_raw_serving_input_receiver_fn(
    features: Mapping[str, Any], default_batch_size: int | None = None
) -> Callable[[], ServingInputReceiver]:
    """Builds a serving_input_receiver_fn whose features are fed directly.

    Args:
        features: Dict of feature name to template: a `tf.TensorSpec`, `tf.SparseTensorSpec`,
            Tensor, SparseTensor or numpy array giving the dtype and shape to feed.
        default_batch_size: Replaces the first dimension of every template; None (recommended)
            for a variable batch.

    Returns:
        A fn that, called inside a graph, makes one placeholder per feature and returns a
        `ServingInputReceiver` with those placeholders as both features and receiver tensors.

    Raises:
        TypeError: If `features` is not a dict or holds a value that is not a template.
    """
    if not isinstance(features, dict):
        raise TypeError(
            'build_raw_serving_input_receiver_fn() expects features to be a dict of feature '
            f"name to template, e.g. {{'x': tf.TensorSpec([None], tf.float32)}}; "
            f'found {type(features).__name__}.'
        )
    templates = _templates(features, 'features')

    def serving_input_receiver_fn() -> ServingInputReceiver:
        receiver_tensors = _placeholders(templates, default_batch_size)
        return ServingInputReceiver(receiver_tensors, receiver_tensors)

    return serving_input_receiver_fn


def _as_dict(tensors: Any, default_key: str) -> dict[Any, Any]:
    return tensors if isinstance(tensors, dict) else {default_key: tensors}


def build_raw_supervised_input_receiver_fn(
    features: Templates, labels: Templates, default_batch_size: int | None = None
) -> Callable[[], SupervisedInputReceiver]:
    """Builds a supervised receiver fn whose features and labels are fed directly.

    A dict stays a dict of placeholders and a single template a single placeholder; the
    receiver tensors are all of them, a single feature under 'input' and a label under 'label'.

    Args:
        features: A template (see `build_raw_serving_input_receiver_fn`) or a dict of them.
        labels: A template or a dict of name to template.
        default_batch_size: Replaces the first dimension of every template; None (recommended)
            for a variable batch.

    Returns:
        A fn that, called inside a graph, returns a `SupervisedInputReceiver` of placeholders.

    Raises:
        ValueError: If features and labels share a receiver key.
        TypeError: If a value is not a template.
    """
    feat_keys = features.keys() if isinstance(features, dict) else [SINGLE_RECEIVER_DEFAULT_NAME]
    label_keys = labels.keys() if isinstance(labels, dict) else [SINGLE_LABEL_DEFAULT_NAME]
    overlap_keys = set(feat_keys) & set(label_keys)
    if overlap_keys:
        # Formatted like the original's set, but in a stable order.
        keys = ', '.join(sorted(repr(key) for key in overlap_keys))
        raise ValueError(
            f'Features and labels must have distinct keys. Found overlapping keys: {{{keys}}}'
        )
    feature_templates = _templates(features, 'features')
    label_templates = _templates(labels, 'labels')

    def supervised_input_receiver_fn() -> SupervisedInputReceiver:
        features_cp = _placeholders(feature_templates, default_batch_size)
        labels_cp = _placeholders(label_templates, default_batch_size)
        receiver_tensors = {
            **_as_dict(features_cp, SINGLE_RECEIVER_DEFAULT_NAME),
            **_as_dict(labels_cp, SINGLE_LABEL_DEFAULT_NAME),
        }
        return SupervisedInputReceiver(features_cp, labels_cp, receiver_tensors)

    return supervised_input_receiver_fn
