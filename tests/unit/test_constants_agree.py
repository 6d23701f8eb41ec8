"""The literals kept where TensorFlow must not load yet (`sme`'s flags, the pipeline config's
defaults) agree with `savedmodel_estimator.constants`, where every other layer reads them."""

from __future__ import annotations

import click

from savedmodel_estimator import constants
from savedmodel_estimator_tfx.components.batch_predictor import spec as predictor_spec
from savedmodel_estimator_tfx.pipelines.cli.predict_command import predict
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig


def _option(command: click.Command, name: str) -> click.Parameter:
    (option,) = [p for p in command.params if p.name == name]
    return option


def test_the_predict_command_offers_every_output_format() -> None:
    choice = _option(predict, 'formats').type
    assert isinstance(choice, click.Choice)
    assert tuple(choice.choices) == constants.OUTPUT_FORMATS


def test_the_pipeline_config_defaults_are_the_components() -> None:
    config = PipelineConfig(saved_model='m', data='d')
    assert config.max_batch_size == constants.DEFAULT_MAX_BATCH_SIZE
    assert config.max_batch_size == predictor_spec.DEFAULT_MAX_BATCH_SIZE
    assert set(config.output_formats) <= set(constants.OUTPUT_FORMATS)
    assert constants.PREDICTION_LOG in config.output_formats  # what BulkInferrer's readers read
