"""The local pipeline with ML Metadata on a MariaDB server, as Kubeflow keeps it in MySQL.

The same checks as on SQLite (tests/e2e/test_local_pipeline.py): two runs, every stage CACHED the
second time, lineage through ML Metadata's events. The server is private to the test session
(tests/support/mysql_server.py) and reached over TCP on 127.0.0.1, or over its Unix socket.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import signal

import pymysql
import pytest
from click.testing import CliRunner
from ml_metadata import metadata_store

from savedmodel_estimator_tfx.pipelines import metadata_connection
from savedmodel_estimator_tfx.pipelines.cli import main
from savedmodel_estimator_tfx.pipelines.metadata_connection import (
    MetadataConnectionError,
    MySQLSettings,
)
from tests.e2e.pipeline_checks import (
    STAGES,
    assert_complete_then_cached,
    assert_lineage_from_the_import_to_every_output,
    demo_config,
    run_twice,
)
from tests.e2e.published_artifacts import (
    assert_live_artifacts_are_complete,
    assert_unfinished_executions_published_nothing,
)
from tests.e2e.sme_process import STEP_LINE, SmeProcess
from tests.support.mysql_server import MariaDBUnavailableError, mariadb_server

pytestmark = pytest.mark.slow

PASSWORD_ENV = 'SME_TEST_MYSQL_PASSWORD'


@pytest.fixture(scope='module')
def runs(mariadb, tmp_path_factory):
    """Runs the pipeline twice on a copy of the demo, ML Metadata on the MariaDB server."""
    mysql = mariadb.mysql_settings(password=None, password_env=PASSWORD_ENV)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PASSWORD_ENV, mariadb.password)
        config = demo_config(tmp_path_factory.mktemp('mysql-pipeline'), metadata={'mysql': mysql})
        summaries, store = run_twice(config)
        yield config, summaries, store


def test_first_run_completes_every_stage_and_the_second_hits_the_cache(runs, mariadb):
    config, (first, second), _ = runs
    assert_complete_then_cached(first, second)
    assert first.metadata == f'mysql://sme@127.0.0.1:{mariadb.port}/mlmd'
    assert not list(pathlib.Path(config.output_dir).glob('*.sqlite'))


def test_lineage_leads_from_the_import_to_every_output(runs):
    config, _, store = runs
    assert_lineage_from_the_import_to_every_output(store, config.pipeline_name)


def test_ml_metadata_is_in_the_server_database(runs, mariadb):
    """Two runs of five stages: ten executions, in MariaDB's tables."""
    with (
        pymysql.connect(
            host=mariadb.host,
            port=mariadb.port,
            user=mariadb.user,
            password=mariadb.password,
            database=mariadb.database,
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute('SELECT COUNT(*) FROM Execution')
        assert cursor.fetchone()[0] == 2 * len(STAGES)


def test_the_unix_socket_reaches_the_same_store(runs, mariadb):
    config, _, tcp_store = runs
    over_socket = config.replace(
        metadata={
            'mysql': {
                'socket': mariadb.socket,
                'database': mariadb.database,
                'user': mariadb.user,
                'password': mariadb.password,
            }
        }
    )
    metadata_connection.check_mysql(metadata_connection.mysql_settings(over_socket))
    store = metadata_store.MetadataStore(metadata_connection.connection_config(over_socket))
    assert [c.name for c in store.get_contexts()] == [c.name for c in tcp_store.get_contexts()]


def test_a_wrong_password_is_named_as_such(mariadb):
    settings = MySQLSettings(**mariadb.mysql_settings(password='not-the-password'))
    with pytest.raises(
        MetadataConnectionError, match=r'refused the login: Access denied for user'
    ) as info:
        metadata_connection.check_mysql(settings)
    message = str(info.value)
    assert "Check the user 'sme', metadata.mysql.password" in message
    assert 'not-the-password' not in message


def test_sme_run_reports_a_wrong_password_before_running(mariadb, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, 'not-the-password')
    result = CliRunner().invoke(
        main,
        [
            'run',
            '--saved-model', str(tmp_path),
            '--data', str(tmp_path),
            '--output-dir', str(tmp_path / 'out'),
            '--mysql-host', mariadb.host,
            '--mysql-port', str(mariadb.port),
            '--mysql-database', mariadb.database,
            '--mysql-user', mariadb.user,
            '--mysql-password-env', PASSWORD_ENV,
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f'mysql://sme@127.0.0.1:{mariadb.port}/mlmd refused the login' in result.output
    assert f'the password in ${PASSWORD_ENV}' in result.output
    assert 'not-the-password' not in result.output
    assert not (tmp_path / 'out').exists()


def test_a_server_lost_mid_run_is_named_and_after_it_returns_a_rerun_completes(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stops (SIGTERM) while ContinueTrainer trains; it is started again after."""
    root = tmp_path_factory.mktemp('lost-server')
    with contextlib.ExitStack() as stack:
        try:
            db, server = stack.enter_context(mariadb_server(tmp_path_factory.mktemp('mariadb')))
        except MariaDBUnavailableError as err:
            pytest.fail(str(err), pytrace=False)
        monkeypatch.setenv(PASSWORD_ENV, db.password)
        mysql = db.mysql_settings(password=None, password_env=PASSWORD_ENV)
        config = demo_config(root, metadata={'mysql': mysql}, train_steps=1000)
        settings = {k: v for k, v in vars(config).items() if v is not None}
        (root / 'run.json').write_text(json.dumps(settings))

        first = SmeProcess(['run', '--config', root / 'run.json'], cwd=root)
        try:
            first.wait_for(lambda line: bool(STEP_LINE.search(line)))
            server.stop(signal.SIGTERM)
            first_code = first.finish()
        finally:
            first.kill()
        server.start()
        # The rerun is not interrupted: it runs in this process, which has its imports.
        second = CliRunner().invoke(main, ['run', '--config', str(root / 'run.json')])
        store = metadata_store.MetadataStore(metadata_connection.connection_config(config))

        assert first_code == 1, first.output
        said = first.output.replace('\n', ' ')
        assert (
            f'Pipeline failed: Lost the ML Metadata server mysql://sme@127.0.0.1:{db.port}/mlmd '
            'while stage ContinueTrainer ran: the server went away' in said
        )
        assert 'It still does not answer: Cannot reach the ML Metadata server' in said
        assert 'Once the server is back, run the same command again' in said
        assert 'MySQL 8.0' not in said  # ML Metadata's misleading advice is not shown

        assert second.exit_code == 0, second.output
        assert 'Cleaned up ContinueTrainer execution' in second.output
        for stage in ('ExampleGen', 'SavedModelImporter'):
            assert f'{stage} CACHED' in second.output
        assert_lineage_from_the_import_to_every_output(store, config.pipeline_name)
        assert_unfinished_executions_published_nothing(store)
        assert assert_live_artifacts_are_complete(store) >= 7
