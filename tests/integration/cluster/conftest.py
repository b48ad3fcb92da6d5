"""Fixtures of the cluster tests: a fresh PostgreSQL schema per test, the brokers, and
clusters of real ``serve`` and ``worker`` processes on moto's S3 server (the ``moto``
fixture of tests/integration/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.db.session import create_db_engine, migrate
from tests.integration.cluster.processes import Cluster, s3_config
from tests.integration.cluster.services import BROKERS, postgres_schema, require_broker
from tests.s3server import MotoServer

MakeCluster = Callable[..., Cluster]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of an empty schema of the test database, dropped after the test."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def pg(pg_url: str) -> Iterator[DbEngine]:
    """A migrated PostgreSQL schema (every migration, as a server runs them)."""
    engine = create_db_engine(pg_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    """Each broker in turn (``redis``, ``amqp``); the test fails (CI) or skips without it."""
    url = BROKERS[request.param]
    require_broker(url)
    return url


@pytest.fixture
def redis_broker() -> str:
    url = BROKERS["redis"]
    require_broker(url)
    return url


@pytest.fixture
def make_cluster(tmp_path: Path, pg_url: str, moto: MotoServer) -> Iterator[MakeCluster]:
    """``make_cluster(broker_url, **settings)``: a cluster on this test's schema whose
    bucket ``media`` is a new S3 bucket on moto; every process is stopped after the test."""
    made: list[Cluster] = []

    def make(broker_url: str, **settings: str) -> Cluster:
        bucket = moto.create_bucket("media")
        root = tmp_path / f"cluster-{len(made) + 1}"
        config = s3_config(moto, {"media": bucket})
        cluster = Cluster(root, pg_url, broker_url, config, {"media": bucket}, **settings)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
