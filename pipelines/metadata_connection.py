"""Where a pipeline's ML Metadata lives: SQLite in the output directory, or a MySQL server.

Kubeflow keeps ML Metadata in MySQL; `metadata.mysql` in a PipelineConfig (or `sme run
--mysql-*`) points the local pipeline at such a server (MySQL or MariaDB). ML Metadata's own error
for a wrong password, a stopped server or a wrong socket is the same
`mysql_real_connect failed: errno: , error:`, so `check_mysql` connects with PyMySQL first and says
which of these it is. Passwords are read from an environment variable (preferred) or the config,
and never appear in a message, a label or a repr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
from collections.abc import Iterator

from ml_metadata.proto import metadata_store_pb2

from savedmodel_estimator_tfx.pipelines.config import ConfigError, PipelineConfig

DEFAULT_PORT = 3306
CONNECT_TIMEOUT_S = 10

# MySQL client and server error codes (mysql/errmsg.h, mysqld_error.h).
_ACCESS_DENIED = (1044, 1045, 1698)  # to the database; for the user; for the auth plugin
_UNKNOWN_DATABASE = 1049
_UNREACHABLE = (2002, 2003, 2005, 2006, 2013)  # socket, TCP, host, gone away, lost
# A password field of a ConnectionConfig in protobuf text format.
_PASSWORD_TEXT = re.compile(r'(password:\s*)"(?:[^"\\]|\\.)*"')


class MetadataConnectionError(ConnectionError):
    """The ML Metadata server cannot be reached, or refused the credentials."""


@dataclasses.dataclass(frozen=True)
class MySQLSettings:
    """`metadata.mysql` of a PipelineConfig, typed; see schemas/pipeline_config.schema.json."""

    database: str
    user: str
    host: str | None = None
    port: int = DEFAULT_PORT
    password: str | None = dataclasses.field(default=None, repr=False)
    password_env: str | None = None
    socket: str | None = None

    def __post_init__(self) -> None:
        if not self.host and not self.socket:
            raise ConfigError(
                'metadata.mysql: give the server as host (and port) or as socket; found neither.'
            )
        if self.password is not None and self.password_env is not None:
            raise ConfigError(
                'metadata.mysql: give password or password_env, not both (password_env, the '
                'name of an environment variable holding the password, is preferred).'
            )

    @property
    def url(self) -> str:
        """`mysql://user@host:port/database`, or with the socket; never the password."""
        if self.socket:
            return f'mysql://{self.user}@localhost/{self.database}?socket={self.socket}'
        return f'mysql://{self.user}@{self.host}:{self.port}/{self.database}'

    def resolved_password(self) -> str:
        """The password, read from `password_env` if that is set.

        Raises:
            ConfigError: `password_env` names a variable that is not set.
        """
        if self.password_env is None:
            return self.password or ''
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f'metadata.mysql.password_env: environment variable {self.password_env!r} is not '
                f'set. Put the password of MySQL user {self.user!r} in it, e.g. '
                f'`read -rs {self.password_env} && export {self.password_env}`.'
            )
        return value


def mysql_settings(config: PipelineConfig) -> MySQLSettings | None:
    """The MySQL settings of `config`, or None when ML Metadata is in SQLite."""
    values = (config.metadata or {}).get('mysql')
    return MySQLSettings(**values) if values else None


def describe(config: PipelineConfig) -> str:
    """Where ML Metadata is, for people: the SQLite file's path or `mysql://user@host:port/db`."""
    settings = mysql_settings(config)
    return settings.url if settings else os.path.abspath(config.metadata_file)


def connection_config(config: PipelineConfig) -> metadata_store_pb2.ConnectionConfig:
    """The ML Metadata connection for `config`: its MySQL server, else SQLite (directory made).

    Raises:
        ConfigError: the MySQL settings are incomplete, or the password variable is not set.
    """
    from tfx.orchestration import metadata

    settings = mysql_settings(config)
    if settings is None:
        path = os.path.abspath(config.metadata_file)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return metadata.sqlite_metadata_connection_config(path)
    connection = metadata.mysql_metadata_connection_config(
        host=settings.host or '',
        port=settings.port,
        database=settings.database,
        username=settings.user,
        password=settings.resolved_password(),
    )
    if settings.socket:
        # ML Metadata aborts the process (a failed CHECK) unless exactly one of host and socket
        # is set.
        connection.mysql.ClearField('host')
        connection.mysql.ClearField('port')
        connection.mysql.socket = settings.socket
    return connection


def check_mysql(settings: MySQLSettings, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Logs in to the server with PyMySQL, so a failure has a reason ML Metadata would not give.

    A database that does not exist yet passes: ML Metadata creates it.

    Raises:
        MetadataConnectionError: the server is unreachable, or refused the user or password.
        ConfigError: the password variable is not set.
    """
    import pymysql

    password = settings.resolved_password()
    target = dict(unix_socket=settings.socket) if settings.socket else dict(host=settings.host)
    try:
        connection = pymysql.connect(
            **target,
            port=settings.port,
            user=settings.user,
            password=password,
            connect_timeout=timeout_s,
        )
    except pymysql.err.MySQLError as err:
        raise MetadataConnectionError(_explain(settings, err)) from None
    with connection:
        try:
            connection.select_db(settings.database)
        except pymysql.err.MySQLError as err:
            if _code(err) != _UNKNOWN_DATABASE:
                raise MetadataConnectionError(_explain(settings, err)) from None


def _code(err: Exception) -> int | None:
    return err.args[0] if err.args and isinstance(err.args[0], int) else None


def _explain(settings: MySQLSettings, err: Exception) -> str:
    """What went wrong connecting to `settings`' server and what to check; never the password."""
    code = _code(err)
    detail = err.args[1] if len(err.args) > 1 else str(err)
    where = f'ML Metadata server {settings.url}'
    if code in _UNREACHABLE:
        listening = (
            f'on the socket {settings.socket}'
            if settings.socket
            else f'on {settings.host} port {settings.port}'
        )
        return (
            f'Cannot reach the {where}: {detail} (MySQL error {code}). Check that the server '
            f'is running and listening {listening}.'
        )
    if code in _ACCESS_DENIED:
        source = (
            f'the password in ${settings.password_env}'
            if settings.password_env
            else 'metadata.mysql.password'
        )
        return (
            f'The {where} refused the login: {detail} (MySQL error {code}). Check the user '
            f'{settings.user!r}, {source}, and that the user may use database '
            f'{settings.database!r} from this host.'
        )
    return f'Cannot use the {where}: {detail} (MySQL error {code}).'


class _RedactPasswords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if 'password' in message:
            record.msg, record.args = _PASSWORD_TEXT.sub(r'\1"(not shown)"', message), None
        return True


@contextlib.contextmanager
def passwords_redacted_from_logs() -> Iterator[None]:
    """TFX's runner logs its connection config at INFO, password included: hide it meanwhile."""
    redact = _RedactPasswords()
    logger = logging.getLogger('absl')  # TFX logs through absl.logging
    logger.addFilter(redact)
    try:
        yield
    finally:
        logger.removeFilter(redact)
