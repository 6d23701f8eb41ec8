"""The settings of the pipeline `sme run` builds, validated against schemas/pipeline_config.schema.json."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import jsonschema

from savedmodel_estimator_tfx.schemas import load_schema


class ConfigError(ValueError):
    """A pipeline configuration that does not match its JSON Schema."""


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """What `sme run` needs; field meanings are documented in the JSON Schema."""

    saved_model: str
    data: str
    data_format: str = 'auto'
    train_pattern: str = 'train*'
    eval_pattern: str = 'eval*'
    pipeline_name: str = 'sme-continue-training'
    output_dir: str = 'sme-output'
    metadata_path: str | None = None
    train_steps: int = 100
    batch_size: int = 32
    shuffle_buffer: int = 0
    # Checkpoint cadence of ContinueTrainer (None: the core's, every 600 s, 5 kept). A rerun
    # after a crash resumes from the last checkpoint, so this bounds the work a crash loses.
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: int | None = None
    keep_checkpoint_max: int | None = None
    allow_non_finite: bool = False
    metric_thresholds: dict[str, Any] = dataclasses.field(default_factory=dict)
    predict_splits: list[str] = dataclasses.field(default_factory=lambda: ['eval'])
    max_batch_size: int = 4096
    output_formats: list[str] = dataclasses.field(
        default_factory=lambda: ['prediction_log', 'jsonl']
    )
    passthrough_features: list[str] = dataclasses.field(default_factory=list)
    # Empty: Beam's DirectRunner, in memory. (Non-empty args also make TFX's stock Beam
    # components build an sdist of TFX for remote workers; see components/common/local_beam.py.)
    beam_pipeline_args: list[str] = dataclasses.field(default_factory=list)
    enable_cache: bool = True
    # {'mysql': {...}} for ML Metadata on a MySQL server (pipelines/metadata_connection.py);
    # left out of the repr, which would otherwise show a password given in the config.
    metadata: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    @property
    def pipeline_root(self) -> str:
        # String joining, not pathlib: pathlib would turn gs://b/x into gs:/b/x.
        return self.output_dir.rstrip('/') + '/pipeline_root'

    @property
    def metadata_file(self) -> str:
        return self.metadata_path or str(pathlib.Path(self.output_dir) / 'metadata.sqlite')

    def __post_init__(self) -> None:
        if self.save_checkpoints_steps is not None and self.save_checkpoints_secs is not None:
            raise ConfigError(
                'save_checkpoints_steps and save_checkpoints_secs are both set '
                f'({self.save_checkpoints_steps} steps, {self.save_checkpoints_secs} s): give one.'
            )

    @property
    def split_patterns(self) -> dict[str, str]:
        """`{split: glob}` of the data files, relative to `data`, as ExampleGen reads them.

        CSV globs get a `.csv` suffix unless they have one: `train*` reads `train*.csv`.
        """
        suffix = '.csv' if self.resolved_data_format == 'csv' else ''
        return {
            split: glob if not suffix or glob.endswith(suffix) else glob + suffix
            for split, glob in (('train', self.train_pattern), ('eval', self.eval_pattern))
        }

    @property
    def resolved_data_format(self) -> str:
        if self.data_format != 'auto':
            return self.data_format
        data = pathlib.Path(self.data)
        return (
            'csv'
            if any(
                any(data.glob(pattern + '.csv'))
                or any(p.suffix == '.csv' for p in data.glob(pattern))
                for pattern in (self.train_pattern, self.eval_pattern)
            )
            else 'tfrecord'
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = 'configuration') -> PipelineConfig:
        """Validates `values` against the JSON Schema and builds the config.

        Raises:
            ConfigError: naming the offending key, what was expected and what was found.
        """
        schema = load_schema('pipeline_config')
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            where = '.'.join(str(p) for p in error.absolute_path) or '(top level)'
            message = error.message
            if 'password' in error.absolute_path:  # the message would quote the password
                message = f'expected a {error.schema.get("type", "valid value")} (value not shown)'
            raise ConfigError(f'{source}: {where}: {message}.')
        try:
            return cls(**values)
        except ConfigError as err:
            raise ConfigError(f'{source}: {err}') from None

    @classmethod
    def from_file(cls, path: str | pathlib.Path) -> PipelineConfig:
        """Reads a JSON (or YAML) config file."""
        text = pathlib.Path(path).read_text()
        if str(path).endswith(('.yaml', '.yml')):
            import yaml

            values = yaml.safe_load(text)
        else:
            try:
                values = json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(f'{path}: not valid JSON ({err}).') from err
        if not isinstance(values, dict):
            raise ConfigError(
                f'{path}: expected an object of settings, found {type(values).__name__}.'
            )
        return cls.from_dict(values, source=str(path))

    @classmethod
    def from_file_and_flags(
        cls, config_file: str | None, flags: dict[str, Any], source: str
    ) -> dict[str, Any]:
        """The settings of a config file (if any) with the given flags over them (None: unset).

        Returns the merged values, to adjust before `from_dict` validates them.

        Raises:
            ConfigError: the file is invalid, or `saved_model` or `data` is set nowhere.
        """
        values: dict[str, Any] = dict(vars(cls.from_file(config_file))) if config_file else {}
        values.update({k: v for k, v in flags.items() if v is not None})
        for required in ('saved_model', 'data'):
            if not values.get(required):
                raise ConfigError(
                    f'{source}: missing --{required.replace("_", "-")} (or {required!r} in --config).'
                )
        return values

    def replace(self, **changes: Any) -> PipelineConfig:
        return dataclasses.replace(self, **changes)
