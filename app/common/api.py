"""The Blueprint every API module uses: flask-smorest's, with the bounded input parsers of app.common.inputs,
multipart bodies of form fields and files, the X-Pagination header documented as the JSON it is; and the
apispec plugins that give every operation its operationId and document the errors every route can answer."""
import re

import flask_smorest
from apispec import BasePlugin
from flask_smorest.pagination import PaginationMetadataSchema

from app.common.inputs import InputParser, PaginationParser

# operationId verb of a MethodView method: <verb><ClassName>, e.g. getMe, updateMe, replaceMyTutorProfile.
METHOD_VERBS = {"get": "get", "post": "create", "put": "replace", "patch": "update", "delete": "delete"}


class Blueprint(flask_smorest.Blueprint):
    """flask_smorest.Blueprint whose arguments (every location) and pagination parameters are bounded."""

    ARGUMENTS_PARSER = InputParser()
    PAGINATION_ARGUMENTS_PARSER = PaginationParser()
    # location="multipart": form fields and files in one schema, documented as one multipart/form-data body.
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def _document_pagination_metadata(self, spec, resp_doc):
        """flask-smorest's documented override point: X-Pagination carries JSON, so its OpenAPI 3 header is
        ``content: application/json`` with the metadata schema (a ``schema`` alone means comma-separated
        ``simple`` style, which is not what is sent)."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata (JSON).",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }


def camel_case(name):
    """``admin_list_users`` → ``adminListUsers``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def derived_operation_id(endpoint, method):
    """The operationId of ``method`` on the view registered as ``endpoint`` (``blueprint.view``).

    A view function's name in lowerCamelCase (``accept_booking`` → ``acceptBooking``); a MethodView's method
    is its verb and the class name (``MyTutorProfile.put`` → ``replaceMyTutorProfile``)."""
    view = endpoint.rsplit(".", 1)[-1]
    if re.match(r"[A-Z]", view):
        return METHOD_VERBS[method] + view
    return camel_case(view)


class OperationIdPlugin(BasePlugin):
    """Gives every operation an operationId (an explicit ``@blp.doc(operationId=...)`` wins) and refuses
    duplicates, so client generators get one stable, readable name per operation."""

    def __init__(self):
        self.seen = {}

    def init_spec(self, spec):
        self.seen = {}

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        for method, operation in (operations or {}).items():
            if method not in METHOD_VERBS:
                continue
            if "operationId" not in operation and rule is not None:
                operation["operationId"] = derived_operation_id(rule.endpoint, method)
            operation_id = operation.get("operationId")
            where = f"{method.upper()} {path}"
            if operation_id in self.seen and self.seen[operation_id] != where:
                raise ValueError(f"operationId {operation_id!r} of {where} is already used by {self.seen[operation_id]}")
            self.seen[operation_id] = where


class ErrorResponsesPlugin(BasePlugin):
    """Documents what every operation can answer besides its own responses, in the one error body.

    The document has no catch-all ``default`` response (``app.extensions.Api``), so each 4xx is named:
    a description-only error response gets the ``Error`` body (every error has it, app.common.errors); an
    operation with a path parameter answers 404 (unknown id, or one no row can have); one with a JSON body
    answers 400 (a body that is not JSON)."""

    def init_spec(self, spec):
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in METHOD_VERBS:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if str(code)[0] in "45" and isinstance(response, dict) and "content" not in response \
                        and "$ref" not in response:
                    response["content"] = {"application/json": {"schema": self.spec.components.get_ref("schema", "Error")}}
            if "{" in (path or ""):
                responses.setdefault("404", self.spec.components.get_ref("response", "NOT_FOUND"))
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", self.spec.components.get_ref("response", "BAD_REQUEST"))
