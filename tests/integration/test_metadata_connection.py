"""ML Metadata connection settings: the config, the connection built from it, the reachability
check against a port nobody listens on, and what `sme run` passes through (no server needed)."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from savedmodel_estimator_tfx.pipelines import cli, metadata_connection
from savedmodel_estimator_tfx.pipelines.cli import run_command
from savedmodel_estimator_tfx.pipelines.config import ConfigError, PipelineConfig
from savedmodel_estimator_tfx.pipelines.metadata_connection import (
    MetadataConnectionError,
    MySQLSettings,
)

SECRET = 'pa55-w0rd-not-to-show'
MYSQL = {'host': 'db.example', 'port': 3307, 'database': 'mlmd', 'user': 'sme'}


def config_with(**mysql: object) -> PipelineConfig:
    return PipelineConfig.from_dict({'saved_model': 'm', 'data': 'd', 'metadata': {'mysql': mysql}})


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: what a stopped server looks like."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_without_metadata_settings_ml_metadata_is_sqlite_in_the_output_dir(tmp_path):
    config = PipelineConfig(saved_model='m', data='d', output_dir=str(tmp_path / 'out'))
    connection = metadata_connection.connection_config(config)
    assert connection.sqlite.filename_uri == str(tmp_path / 'out' / 'metadata.sqlite')
    assert metadata_connection.describe(config) == str(tmp_path / 'out' / 'metadata.sqlite')
    assert metadata_connection.mysql_settings(config) is None


def test_mysql_over_tcp_with_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv('MLMD_PASSWORD', SECRET)
    config = config_with(**MYSQL, password_env='MLMD_PASSWORD')
    connection = metadata_connection.connection_config(config)
    assert (connection.mysql.host, connection.mysql.port) == ('db.example', 3307)
    assert (connection.mysql.database, connection.mysql.user) == ('mlmd', 'sme')
    assert connection.mysql.password == SECRET
    assert not connection.mysql.socket
    assert metadata_connection.describe(config) == 'mysql://sme@db.example:3307/mlmd'


def test_mysql_over_a_unix_socket_ignores_host_and_port():
    config = config_with(socket='/run/mysqld/mysqld.sock', database='mlmd', user='sme')
    connection = metadata_connection.connection_config(config)
    assert connection.mysql.socket == '/run/mysqld/mysqld.sock'
    # ML Metadata aborts the process (a failed CHECK) if both host and socket are set.
    assert not connection.mysql.HasField('host')
    assert metadata_connection.describe(config) == (
        'mysql://sme@localhost/mlmd?socket=/run/mysqld/mysqld.sock'
    )


def test_the_password_is_never_shown(monkeypatch):
    config = config_with(**MYSQL, password=SECRET)
    settings = metadata_connection.mysql_settings(config)
    assert SECRET not in repr(config)
    assert SECRET not in repr(settings)
    assert SECRET not in metadata_connection.describe(config)
    with pytest.raises(
        ConfigError, match=r'password: expected a string \(value not shown\)'
    ) as info:
        config_with(**MYSQL, password=1234567)
    assert '1234567' not in str(info.value)


def test_the_password_is_redacted_from_the_runners_log(caplog):
    import logging

    from absl import logging as absl_logging

    connection = metadata_connection.connection_config(config_with(**MYSQL, password=SECRET))
    # The absl logger's own level, not only the root's: earlier tests may have lowered absl's
    # verbosity (TFX's runners set it), and a record it drops would pass this test vacuously.
    with (
        caplog.at_level(logging.INFO, logger='absl'),
        metadata_connection.passwords_redacted_from_logs(),
    ):
        absl_logging.info('Using connection config:\n %s', connection.mysql)
    assert 'Using connection config' in caplog.text
    assert 'password: "(not shown)"' in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ('mysql', 'message'),
    [
        ({'database': 'mlmd', 'user': 'sme'}, 'give the server as host (and port) or as socket'),
        (
            {**MYSQL, 'password': 'x', 'password_env': 'X'},
            'give password or password_env, not both',
        ),
    ],
)
def test_incomplete_mysql_settings_are_refused(mysql, message):
    with pytest.raises(ConfigError, match=message.replace('(', r'\(').replace(')', r'\)')):
        metadata_connection.connection_config(config_with(**mysql))


@pytest.mark.parametrize(
    ('mysql', 'message'),
    [
        ({'host': 'h', 'user': 'sme'}, "metadata.mysql: 'database' is a required property"),
        ({**MYSQL, 'passwd': 'x'}, "'passwd' was unexpected"),
        ({**MYSQL, 'port': 0}, 'metadata.mysql.port: 0 is less than the minimum of 1'),
    ],
)
def test_the_schema_names_the_offending_mysql_key(mysql, message):
    with pytest.raises(ConfigError, match=message):
        config_with(**mysql)


def test_an_unset_password_variable_says_which(monkeypatch):
    monkeypatch.delenv('MLMD_PASSWORD', raising=False)
    settings = MySQLSettings(**MYSQL, password_env='MLMD_PASSWORD')
    with pytest.raises(ConfigError, match="environment variable 'MLMD_PASSWORD' is not set"):
        metadata_connection.check_mysql(settings)


def test_a_stopped_server_is_named_as_such():
    port = closed_port()
    settings = MySQLSettings(host='127.0.0.1', port=port, database='mlmd', user='sme')
    with pytest.raises(
        MetadataConnectionError, match='Cannot reach the ML Metadata server'
    ) as info:
        metadata_connection.check_mysql(settings, timeout_s=5)
    assert f'mysql://sme@127.0.0.1:{port}/mlmd' in str(info.value)
    assert 'Connection refused' in str(info.value)
    assert f'running and listening on 127.0.0.1 port {port}' in str(info.value)


def test_a_missing_socket_is_named_as_such(tmp_path):
    sock = str(tmp_path / 'mysqld.sock')
    settings = MySQLSettings(socket=sock, database='mlmd', user='sme')
    with pytest.raises(MetadataConnectionError, match=f'listening on the socket {sock}'):
        metadata_connection.check_mysql(settings, timeout_s=5)


def sme_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ['run', *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_sme_run_reports_a_stopped_server_before_running(tmp_path, monkeypatch):
    monkeypatch.setenv('MLMD_PASSWORD', SECRET)
    port = closed_port()
    code, out = sme_run(
        '--saved-model', str(tmp_path), '--data', str(tmp_path),
        '--output-dir', str(tmp_path / 'out'),
        '--mysql-host', '127.0.0.1', '--mysql-port', str(port),
        '--mysql-database', 'mlmd', '--mysql-user', 'sme', '--mysql-password-env', 'MLMD_PASSWORD',
    )  # fmt: skip
    assert code == 2
    assert f'Cannot reach the ML Metadata server mysql://sme@127.0.0.1:{port}/mlmd' in out
    assert SECRET not in out
    assert not (tmp_path / 'out').exists()


def test_sme_run_flags_reach_the_config(tmp_path, monkeypatch):
    """--mysql-* override the config file's metadata.mysql key by key; --beam-arg passes through."""
    seen = []
    monkeypatch.setattr(run_command, 'run_pipeline', lambda config, **_: seen.append(config))
    config_file = tmp_path / 'run.json'
    config_file.write_text(
        '{"saved_model": "m", "data": "d", "beam_pipeline_args": ["--direct_num_workers=1"],'
        ' "metadata": {"mysql": {"host": "db", "database": "mlmd", "user": "a"}}}'
    )
    code, out = sme_run(
        '--config', str(config_file), '--mysql-user', 'b', '--mysql-port', '3307',
        '--beam-arg=--direct_running_mode=multi_processing', '--beam-arg=--direct_num_workers=2',
    )  # fmt: skip
    assert code == 0, out
    (config,) = seen
    assert config.metadata == {
        'mysql': {'host': 'db', 'database': 'mlmd', 'user': 'b', 'port': 3307}
    }
    assert config.beam_pipeline_args == [
        '--direct_running_mode=multi_processing',
        '--direct_num_workers=2',
    ]
