"""Schemathesis over the whole OpenAPI schema: generated requests to every route never get a 5xx
(bad input is a 4xx naming the problem). Runs are created against a private Redis, so no worker of
another test takes them."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.services import PrivateRedis

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(database_url, tmp_path_factory):
    from labrun.api.main import create_app
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.broker import client_app
    from labrun.shared.storage.db import session

    broker = PrivateRedis(tmp_path_factory.mktemp("fuzz-redis"))
    broker.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("LABRUN_DATABASE_URL", database_url)
    mp.setenv("LABRUN_REDIS_URL", broker.url)
    mp.setenv("LABRUN_ARTIFACTS_URL", str(tmp_path_factory.mktemp("fuzz-artifacts")))
    for cached in (get_settings, client_app):
        cached.cache_clear()
    session.reset()
    yield create_app(auth="off")
    mp.undo()
    for cached in (get_settings, client_app):
        cached.cache_clear()
    session.reset()
    broker.stop()


def test_no_route_answers_5xx(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # every route is fuzzed, new ones too
    for op in operations:

        @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def no_5xx(case):
            response = case.call()
            assert response.status_code < 500, (
                case.method,
                case.path,
                response.status_code,
                response.text[:500],
            )

        no_5xx()
