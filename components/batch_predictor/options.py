"""BatchPredictor's parameters as one typed value, checked once at the executor's edge."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from savedmodel_estimator_tfx.components.batch_predictor import spec


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """How BatchPredictor predicts; see `BatchPredictor` for each field."""

    signature_name: str = spec.DEFAULT_SIGNATURE_NAME
    tags: tuple[str, ...] = spec.DEFAULT_TAGS
    splits: tuple[str, ...] | None = None  # all the artifact's splits
    min_batch_size: int = spec.DEFAULT_MIN_BATCH_SIZE
    max_batch_size: int = spec.DEFAULT_MAX_BATCH_SIZE
    output_formats: tuple[str, ...] = spec.DEFAULT_OUTPUT_FORMATS
    passthrough_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.signature_name:
            raise ValueError('BatchPredictor() signature_name must not be empty.')
        if not self.tags:
            raise ValueError('BatchPredictor() tags must name at least one MetaGraph tag.')
        if self.splits is not None and not self.splits:
            raise ValueError('BatchPredictor() splits must name at least one split when given.')
        if not 1 <= self.min_batch_size <= self.max_batch_size:
            raise ValueError(
                'BatchPredictor() batch sizes must satisfy 1 <= min_batch_size <= '
                f'max_batch_size; given: min_batch_size={self.min_batch_size}, '
                f'max_batch_size={self.max_batch_size}.'
            )
        unknown = [f for f in self.output_formats if f not in spec.OUTPUT_FORMATS]
        if unknown or not self.output_formats:
            raise ValueError(
                f'BatchPredictor() output_formats must be some of {list(spec.OUTPUT_FORMATS)}; '
                f'given: {list(self.output_formats)}.'
            )
        if self.passthrough_features and self.output_formats == (spec.PREDICTION_LOG,):
            raise ValueError(
                'BatchPredictor() passthrough_features go into row files, but output_formats '
                f'is {list(self.output_formats)}; add "jsonl" or "parquet".'
            )


def _json_list(props: Mapping[str, Any], key: str, example: str) -> tuple[str, ...] | None:
    raw = props.get(key)
    if raw is None or raw == '':
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(
            f'BatchPredictor() {key} must be a JSON list of strings, like {example!r}; '
            f'given: {raw!r}.'
        )
    return tuple(value)


def _int(props: Mapping[str, Any], key: str, default: int) -> int:
    value = props.get(key)
    return default if value is None else int(value)  # kfp may pass ints as floats


def options_from_exec_properties(props: Mapping[str, Any]) -> PredictOptions:
    """The typed options from the execution properties.

    Raises:
        ValueError: a parameter is malformed, naming it, what was given and what was expected.
    """
    return PredictOptions(
        signature_name=props.get(spec.SIGNATURE_NAME_KEY) or spec.DEFAULT_SIGNATURE_NAME,
        tags=_json_list(props, spec.TAGS_KEY, '["serve"]') or spec.DEFAULT_TAGS,
        splits=_json_list(props, spec.SPLITS_KEY, '["eval"]'),
        min_batch_size=_int(props, spec.MIN_BATCH_SIZE_KEY, spec.DEFAULT_MIN_BATCH_SIZE),
        max_batch_size=_int(props, spec.MAX_BATCH_SIZE_KEY, spec.DEFAULT_MAX_BATCH_SIZE),
        output_formats=(
            _json_list(props, spec.OUTPUT_FORMATS_KEY, '["prediction_log", "parquet"]')
            or spec.DEFAULT_OUTPUT_FORMATS
        ),
        passthrough_features=_json_list(props, spec.PASSTHROUGH_FEATURES_KEY, '["id"]') or (),
    )
