"""End-to-end fixtures: a private MariaDB server for ML Metadata on MySQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.support.mysql_server import MariaDB, MariaDBUnavailableError, running_mariadb


@pytest.fixture(scope='session')
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A MariaDB server on 127.0.0.1 for this session, stopped at its end.

    Fails (does not skip) when MariaDB is not installed: `make test` installs it.
    """
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_mariadb(tmp_path_factory.mktemp('mariadb')))
        except MariaDBUnavailableError as err:
            pytest.fail(str(err), pytrace=False)
        yield server
