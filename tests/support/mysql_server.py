"""A private MariaDB server for tests: started on loopback in a temporary directory, then stopped.

`make test` installs MariaDB (tools/install-mariadb). The server runs as the current OS user, with
its own data directory, Unix socket and a free TCP port on 127.0.0.1, so it touches nothing
system-wide and several test sessions can run side by side.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import pathlib
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

SERVER_BINARY = 'mariadbd'
# Debian installs the server in /usr/sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get('PATH', ''), '/usr/sbin', '/usr/local/sbin'])
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class MariaDBUnavailableError(RuntimeError):
    """The MariaDB programs are not installed, or the server would not start."""


@dataclasses.dataclass(frozen=True)
class MariaDB:
    """How to reach a running server: over TCP (host, port) or the Unix socket."""

    host: str
    port: int
    socket: str
    database: str
    user: str
    password: str = dataclasses.field(repr=False)
    pid: int

    def mysql_settings(self, **overrides: object) -> dict[str, object]:
        """The `metadata.mysql` settings of a PipelineConfig for this server (over TCP).

        `overrides` replace settings; one set to None is left out.
        """
        settings: dict[str, object] = {
            'host': self.host,
            'port': self.port,
            'database': self.database,
            'user': self.user,
            'password': self.password,
        }
        settings.update(overrides)
        return {key: value for key, value in settings.items() if value is not None}


def program(name: str) -> str:
    """The path of a MariaDB program.

    Raises:
        MariaDBUnavailableError: it is not installed.
    """
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        raise MariaDBUnavailableError(
            f'{name!r} not found on PATH or in /usr/sbin: the ML Metadata on MySQL tests need a '
            'MariaDB server. Run `make test` (which installs it with tools/install-mariadb), or '
            'run tools/install-mariadb yourself.'
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _os_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _run(args: list[str], what: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise MariaDBUnavailableError(
            f'{what} failed (exit {result.returncode}): {" ".join(args)}\n'
            f'{result.stderr.strip() or result.stdout.strip()}'
        )
    return result.stdout


def _log_tail(path: pathlib.Path, lines: int = 20) -> str:
    return (
        '\n'.join(path.read_text(errors='replace').splitlines()[-lines:]) if path.exists() else ''
    )


def _wait_until_up(server: subprocess.Popen, sock: pathlib.Path, log: pathlib.Path) -> None:
    """Polls `mariadb-admin ping` until the server answers, it exits, or the time is up."""
    admin = program('mariadb-admin')
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise MariaDBUnavailableError(
                f'mariadbd exited with code {server.returncode} while starting; its log '
                f'({log}) ends:\n{_log_tail(log)}'
            )
        ping = subprocess.run(
            [admin, '--no-defaults', f'--socket={sock}', f'--user={_os_user()}', 'ping'],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if ping.returncode == 0:
            return
        time.sleep(0.1)  # the server is still starting: it answers within a second or two
    raise MariaDBUnavailableError(
        f'mariadbd did not answer within {START_TIMEOUT_S:.0f} s; its log ({log}) ends:\n'
        f'{_log_tail(log)}'
    )


def _die_with_parent() -> None:
    """In the server's process: get SIGTERM when the test process ends, even if it crashes.

    Otherwise a test run that aborts (ML Metadata ends the process on a failed CHECK) leaves
    the server running.
    """
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class ServerProcess:
    """The `mariadbd` process of a data directory: started, stopped, and started again.

    A restart keeps the data directory, the port and the socket, so clients reconnect to the
    same server (as after a database host's restart).
    """

    def __init__(self, data: pathlib.Path, log: pathlib.Path, port: int) -> None:
        self.data, self.log, self.port = data, log, port
        self.socket = data / 'mysqld.sock'
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        """Starts the server and waits until it answers.

        Raises:
            MariaDBUnavailableError: it exited or did not answer in time.
        """
        self.popen = subprocess.Popen(
            [
                program(SERVER_BINARY),
                '--no-defaults',
                f'--user={_os_user()}',
                f'--datadir={self.data}',
                f'--socket={self.socket}',
                f'--port={self.port}',
                '--bind-address=127.0.0.1',
                '--skip-name-resolve',
                f'--log-error={self.log}',
                f'--pid-file={self.data / "mysqld.pid"}',
                # A test database is tiny; leave memory to the tests.
                '--innodb-buffer-pool-size=32M',
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == 'linux' else None,
        )
        _wait_until_up(self.popen, self.socket, self.log)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it."""
        server = self.popen
        if server is None or server.poll() is not None:
            return
        server.send_signal(signum)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def mariadb_server(
    base_dir: pathlib.Path, database: str = 'mlmd', user: str = 'sme'
) -> Iterator[tuple[MariaDB, ServerProcess]]:
    """Like `running_mariadb`, also yielding the server process, to stop and start it again."""
    install_db, client = program('mariadb-install-db'), program('mariadb')
    program(SERVER_BINARY)
    data = base_dir / 'data'
    process = ServerProcess(data, base_dir / 'mariadbd.log', free_port())
    if len(str(process.socket)) > 100:  # the limit of a Unix socket path is 108 bytes
        raise MariaDBUnavailableError(f'socket path too long for a Unix socket: {process.socket}')
    os_user = _os_user()
    _run(
        [
            install_db,
            '--no-defaults',
            f'--user={os_user}',
            f'--datadir={data}',
            '--auth-root-authentication-method=socket',
            '--skip-test-db',
        ],
        'mariadb-install-db',
    )
    try:
        process.start()
        password = secrets.token_urlsafe(16)
        statements = [f'CREATE DATABASE `{database}`']
        for host in ('%', 'localhost'):  # 'localhost' is the Unix socket
            statements += [
                f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'",
                f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'{host}'",
            ]
        _run(
            [
                client,
                '--no-defaults',
                f'--socket={process.socket}',
                f'--user={os_user}',
                '-e',
                '; '.join(statements),
            ],
            'creating the test database and user',
        )
        server = MariaDB(
            '127.0.0.1', process.port, str(process.socket), database, user, password, process.pid
        )
        yield server, process
    finally:
        process.stop()


@contextlib.contextmanager
def running_mariadb(
    base_dir: pathlib.Path, database: str = 'mlmd', user: str = 'sme'
) -> Iterator[MariaDB]:
    """Initialises a data directory under `base_dir`, starts a server on it, yields how to reach it.

    The server listens on 127.0.0.1 at a free port and on `<base_dir>/data/mysqld.sock`; `user`
    (with a random password) may do anything in `database`. Stopped with SIGTERM on exit.

    Raises:
        MariaDBUnavailableError: MariaDB is not installed, or the server would not start.
    """
    with mariadb_server(base_dir, database, user) as (server, _):
        yield server
