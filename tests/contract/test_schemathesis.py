"""Schemathesis over the whole OpenAPI document, in-process (WSGI): anonymously and as a seeded student, tutor
and admin. No 5xx, no undocumented status code or content type, no body or header that breaks its schema.

Each operation gets Hypothesis-generated valid and invalid requests (``APIOperation.as_strategy``), bounded by
``MAX_EXAMPLES`` and derandomized so CI runs the same requests every time."""
import json

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from app.seed import seed_demo

# Seeded accounts (app.seed.DEMO_USERS) whose tokens the runs use; None runs anonymously.
IDENTITIES = {
    "anonymous": None,
    "student": "sam.student@tutorhub.test",
    "tutor": "maria.garcia@tutorhub.test",
    "admin": "admin@tutorhub.test",
}
# Requests per operation, identity and mode (valid / invalid data); timings in bench/README.md.
MAX_EXAMPLES = 10
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)

CONFIG = schemathesis.Config.from_dict({
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
    },
})
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def pagination_header_conformance(ctx, response, case):
    """X-Pagination is documented as JSON content, which Schemathesis does not parse: validate it here."""
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    values = response.headers.get("x-pagination")
    if "X-Pagination" not in documented.get("headers", {}) or not values:
        return None
    schema = case.operation.schema.raw_schema["components"]["schemas"]["PaginationMetadata"]
    jsonschema_rs.validator_for(schema).validate(json.loads(values[0]))
    return True


@pytest.fixture(params=list(IDENTITIES))
def headers(request, app, auth):
    users = seed_demo()
    email = IDENTITIES[request.param]
    return auth.headers(users[email]) if email else {}


def run_operation(operation, mode, headers):
    @given(case=operation.as_strategy(generation_mode=mode))
    @SETTINGS
    def check(case):
        case.call_and_validate(headers=headers, additional_checks=[pagination_header_conformance])

    check()


def test_api_conforms_to_its_document(app, headers):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            try:
                run_operation(operation, mode, headers)
            except Unsatisfiable:  # nothing of the operation can be made invalid (no parameters, free text)
                continue
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 (collect every failure, report them all)
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)


def test_a_response_that_breaks_its_schema_fails_the_run(app):
    """The run above can fail: with the Subject schema made to require a field nobody sends, it does."""
    seed_demo()
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    spec["components"]["schemas"]["Subject"]["required"] = ["no_such_field"]
    schema = schemathesis.openapi.from_dict(spec, config=CONFIG)
    schema.app = app
    with pytest.raises(BaseExceptionGroup, match="Response violates schema"):
        run_operation(schema["/api/v1/subjects"]["GET"], schemathesis.GenerationMode.POSITIVE, {})
