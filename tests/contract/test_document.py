"""The OpenAPI document is a valid OpenAPI 3 document a strict client generator accepts."""
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from app.common.api import camel_case, derived_operation_id

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_document_validates(spec):
    validate(spec)


def test_validator_refuses_a_swagger_2_form_parameter(spec):
    """The check above can fail: the upload's old Swagger 2 `in: formData` parameter is refused."""
    broken = {**spec, "paths": {"/x": {"post": {"responses": {"200": {"description": "OK"}}, "parameters": [
        {"in": "formData", "name": "kind", "required": True, "schema": {"type": "string"}}]}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_operation_has_a_unique_readable_operation_id(spec):
    ids = {label: operation.get("operationId") for label, operation in operations(spec)}
    missing = [label for label, operation_id in ids.items() if not operation_id]
    assert not missing, missing
    assert len(set(ids.values())) == len(ids)
    for operation_id in ids.values():
        assert operation_id[0].islower() and operation_id.isalnum(), operation_id
    assert ids["GET /api/v1/tutors"] == "searchTutors"
    assert ids["POST /api/v1/bookings"] == "createBooking"
    assert ids["GET /api/v1/bookings"] == "listBookings"
    assert ids["PATCH /api/v1/users/me"] == "updateMe"
    assert ids["POST /api/v1/bookings/{booking_id}/accept"] == "acceptBooking"


def test_operation_ids_are_derived_from_the_views():
    assert camel_case("admin_list_users") == "adminListUsers"
    assert camel_case("health") == "health"
    assert derived_operation_id("scheduling.accept_booking", "post") == "acceptBooking"
    assert derived_operation_id("tutors.MyTutorProfile", "put") == "replaceMyTutorProfile"
    assert derived_operation_id("users.Me", "patch") == "updateMe"


def test_duplicate_operation_ids_are_refused():
    from apispec import APISpec

    from app.common.api import OperationIdPlugin

    spec = APISpec("t", "1", "3.0.3", plugins=[OperationIdPlugin()])
    ok = {"responses": {"200": {"description": "OK"}}}
    spec.path("/a", operations={"post": {**ok, "operationId": "markRead"}})
    with pytest.raises(ValueError, match="markRead"):
        spec.path("/b", operations={"post": {**ok, "operationId": "markRead"}})


def test_pagination_header_is_the_json_metadata_object(spec):
    metadata = spec["components"]["schemas"]["PaginationMetadata"]
    assert metadata["type"] == "object"
    assert set(metadata["properties"]) == {"total", "total_pages", "first_page", "last_page", "page",
                                           "previous_page", "next_page"}
    paginated = [label for label, operation in operations(spec)
                 if "X-Pagination" in operation["responses"].get("200", {}).get("headers", {})]
    assert "GET /api/v1/bookings" in paginated and "GET /api/v1/tutors" in paginated
    for label, operation in operations(spec):
        header = operation["responses"].get("200", {}).get("headers", {}).get("X-Pagination")
        if header:
            assert header["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/PaginationMetadata"}, label


@pytest.mark.parametrize(("label", "fields"), [
    ("POST /api/v1/tutors/me/documents", {"kind", "file"}),
    ("PUT /api/v1/users/me/avatar", {"file"}),
    ("POST /api/v1/attachments", {"file"}),
])
def test_uploads_are_multipart_bodies_with_binary_files(spec, label, fields):
    operation = dict(operations(spec))[label]
    assert not [p for p in operation.get("parameters", []) if p["in"] not in {"path", "query", "header"}]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    schema = spec["components"]["schemas"][name]
    assert set(schema["properties"]) == fields
    assert set(schema["required"]) == fields
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}


def resolve(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_error_is_named_with_the_error_body(spec):
    """No catch-all `default`: each error code an operation answers is documented, with the one error body."""
    for label, operation in operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, label
        for code, response in responses.items():
            if code[0] in "45":
                content = resolve(spec, response)["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (label, code)
        if operation.get("security"):
            assert "401" in responses, label
        if "{" in label:
            assert "404" in responses, label
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert {"400", "422"} <= set(responses), label


def test_role_email_and_rate_limit_errors_are_documented(spec):
    ops = dict(operations(spec))
    assert ops["POST /api/v1/bookings/{booking_id}/accept"]["responses"]["403"]["description"] == "Needs the role tutor"
    assert "Email not confirmed" in ops["POST /api/v1/bookings"]["responses"]["403"]["description"]
    for label in ("POST /api/v1/auth/login", "POST /api/v1/auth/password/forgot", "POST /api/v1/auth/mfa/verify"):
        assert "429" in ops[label]["responses"], label
