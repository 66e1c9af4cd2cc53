"""Schemathesis against our own OpenAPI document: generated valid and invalid requests, zero server errors.

Every documented operation is called over loopback HTTP (the app served in a thread) as a supervisor, with
bounded examples per operation so the suite stays fast. A 5xx on any of them fails with the request that
caused it. The document is the one the server serves (`build_spec` needs no app: it is made from the same
field tables the views parse).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from app.api.openapi import build_spec
from app.extensions import db
from tests.factories import advance, reported, token_for

EXAMPLES = 25  # per operation: ~35 operations → ~900 generated requests

# The live stream stays open by design (tests/app/api/test_live.py reads it with a real client).
schema = schemathesis.openapi.from_dict(build_spec()).exclude(path="/events/stream")


@pytest.fixture
def supervisor_headers(town):
    advance(town, reported(town), "filed")  # something to find, act on and page through
    db.session.commit()
    return token_for(town.supervisor)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case, supervisor_headers, live_server):
    response = case.call(base_url=f"{live_server}/api/v1", headers=supervisor_headers)
    case.validate_response(response, checks=[not_a_server_error])
