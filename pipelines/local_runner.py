"""Running the pipeline on this machine: TFX's LocalDagRunner, ML Metadata in SQLite (or on the
MySQL server `config.metadata` names), Beam's DirectRunner unless `beam_pipeline_args` say
otherwise.
"""

from __future__ import annotations

from typing import Any

from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from savedmodel_estimator_tfx.pipelines import definition, metadata_connection
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig


def run_local(config: PipelineConfig, metadata_connection_config: Any = None) -> None:
    """Runs the pipeline with TFX's LocalDagRunner.

    Raises:
        ConfigError: the MySQL settings are incomplete, or the password variable is not set.
        MetadataConnectionError: the MySQL server in `config` is unreachable or refused the login
            (checked first when no connection is given).
    """
    settings = metadata_connection.mysql_settings(config)
    if metadata_connection_config is None:
        if settings is not None:
            metadata_connection.check_mysql(settings)
        metadata_connection_config = metadata_connection.connection_config(config)
    pipeline = definition.create_pipeline(
        config, metadata_connection_config=metadata_connection_config
    )
    with metadata_connection.passwords_redacted_from_logs():
        LocalDagRunner().run(pipeline)
