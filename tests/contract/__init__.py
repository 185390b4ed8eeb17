"""Contract helpers for the domain tests: a response's status is one its operation documents."""


def documented_statuses(client, method, path):
    spec = client.get("/api/v1/openapi.json").get_json()
    return set(spec["paths"][path][method.lower()]["responses"])


def assert_documented(client, response, method, path):
    """``path`` is the document's template (``/api/v1/bookings/{booking_id}``)."""
    statuses = documented_statuses(client, method, path)
    assert str(response.status_code) in statuses, (method, path, response.status_code, sorted(statuses))
