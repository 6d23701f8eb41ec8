"""BatchPredictor's parameters as one typed value, checked once: from the component, the
executor's exec properties, or `sme predict`. Defaults are the spec's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from savedmodel_estimator_tfx.components.batch_predictor import spec
from savedmodel_estimator_tfx.components.common import parameters

COMPONENT = 'BatchPredictor'


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
        for name in ('tags', 'splits', 'output_formats', 'passthrough_features'):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
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

    @classmethod
    def from_exec_properties(cls, props: Mapping[str, Any]) -> PredictOptions:
        """The typed options from the execution properties (ints may arrive as floats from kfp).

        Raises:
            UnknownParameterError: (a TypeError) a key the predictor does not take.
            ValueError: a parameter is malformed, naming it, what was given and what was
                expected.
        """
        parameters.check_known(COMPONENT, props, spec.BatchPredictorSpec.PARAMETERS)

        def strings(key: str, example: str) -> tuple[str, ...] | None:
            try:
                return parameters.string_list(props.get(key))
            except parameters.ListFormatError as err:
                raise ValueError(
                    f'BatchPredictor() {key} must be a JSON list of strings, like {example!r}; '
                    f'given: {err.raw!r}.'
                ) from err

        def number(key: str, default: int) -> int:
            value = parameters.optional_int(props.get(key))
            return default if value is None else value

        return cls(
            signature_name=props.get(spec.SIGNATURE_NAME_KEY) or spec.DEFAULT_SIGNATURE_NAME,
            tags=strings(spec.TAGS_KEY, '["serve"]') or spec.DEFAULT_TAGS,
            splits=strings(spec.SPLITS_KEY, '["eval"]'),
            min_batch_size=number(spec.MIN_BATCH_SIZE_KEY, spec.DEFAULT_MIN_BATCH_SIZE),
            max_batch_size=number(spec.MAX_BATCH_SIZE_KEY, spec.DEFAULT_MAX_BATCH_SIZE),
            output_formats=(
                strings(spec.OUTPUT_FORMATS_KEY, '["prediction_log", "parquet"]')
                or spec.DEFAULT_OUTPUT_FORMATS
            ),
            passthrough_features=strings(spec.PASSTHROUGH_FEATURES_KEY, '["id"]') or (),
        )
