"""PostgreSQL for the tests that need it (marked `postgres`).

$TT_TEST_POSTGRES names the database (`.ci/run` sets it): then those tests run, and fail when it
cannot be reached. Unset, they try the local database `.ci/run` makes (LOCAL_DSN) and skip, saying
why, when there is none. Each test gets a schema of its own in that database (dropped afterwards),
so that parallel tests (pytest-xdist) never meet: `schema_dsn` names it in the URL's
`options=-csearch_path=...`, which every connection of every mock instance then uses.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest

from mockserver.pgstore import describe

ENV = "TT_TEST_POSTGRES"
LOCAL_DSN = "postgresql://ttmock:ttmock@127.0.0.1:5432/ttmock"  # what .ci/run creates


@functools.cache
def _reachable(dsn: str) -> str | None:
    """None when `dsn` answers, else why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def server_dsn() -> str:
    """The test database's URL; skips the test (fails it under $TT_TEST_POSTGRES) when it is unreachable."""
    dsn = os.environ.get(ENV)
    why = _reachable(dsn or LOCAL_DSN)
    if why is None:
        return dsn or LOCAL_DSN
    if dsn:
        pytest.fail(f"${ENV} is set but PostgreSQL cannot be reached: {why}", pytrace=False)
    pytest.skip(f"no PostgreSQL at {describe(LOCAL_DSN)} ({why}); set ${ENV}=postgresql://... to run this")


def with_schema(dsn: str, schema: str) -> str:
    """`dsn` with `schema` first on the search path of every connection made with it."""
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def schema_dsn() -> Iterator[str]:
    """A URL on a fresh, empty schema of the test database, dropped afterwards."""
    dsn = server_dsn()
    schema = f"tt_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
