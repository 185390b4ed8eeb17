"""No input gives a 500 (issue 13, defects 4 and 5): integers out of range, NUL bytes, lone surrogates and
deeply nested JSON answer 404 (an impossible path id) or 422 with the standard error body, over REST and
Socket.IO, on SQLite and PostgreSQL alike."""
import json

import pytest

from app.extensions import socketio
from tests.conftest import assert_error
from tests.factories import (
    SchedulingSettingsFactory,
    TutorFactory,
    TutorProfileFactory,
    UserFactory,
)

TOO_BIG = 2**31
DEEP = 5000


@pytest.fixture
def student(app):
    return UserFactory(roles=["student"])


@pytest.fixture
def tutor(app):
    tutor = TutorFactory()
    TutorProfileFactory(user=tutor)
    SchedulingSettingsFactory(tutor_id=tutor.id)
    return tutor


def _json(client, method, url, body, headers=None):
    return client.open(url, method=method, data=body, content_type="application/json", headers=headers or {})


def _deep(depth=DEEP):
    return "[" * depth + "]" * depth


# ---- defect 4: integers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    f"/api/v1/tutors/{TOO_BIG}",
    f"/api/v1/tutors/{TOO_BIG}/reviews",
    f"/api/v1/tutors/{TOO_BIG}/rating-summary",
    f"/api/v1/tutors/{2**70}",
])
def test_path_id_beyond_int32_is_not_found_without_login(client, url):
    assert_error(client.get(url), 404)


@pytest.mark.parametrize("method,url", [
    ("GET", f"/api/v1/bookings/{TOO_BIG}"),
    ("GET", f"/api/v1/tutors/{TOO_BIG}/slots"),
    ("POST", f"/api/v1/bookings/{TOO_BIG}/accept"),
    ("GET", f"/api/v1/users/{TOO_BIG}"),
    ("GET", f"/api/v1/conversations/{TOO_BIG}/messages"),
    ("POST", f"/api/v1/notifications/{TOO_BIG}/read"),
    ("GET", f"/api/v1/attachments/{TOO_BIG}"),
])
def test_path_id_beyond_int32_is_not_found_with_login(client, auth, student, method, url):
    assert_error(client.open(url, method=method, headers=auth.headers(student)), 404)


@pytest.mark.parametrize("path_id", [TOO_BIG, 2999999999, 10**18, 2**63])
@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/api/v1/sessions/{}/reviews"),  # POST on the same path is another rule
    ("DELETE", "/api/v1/users/{}/block"),
    ("POST", "/api/v1/users/{}/block"),
])
def test_impossible_path_id_is_404_not_405_when_another_method_shares_the_path(client, auth, student, method, url,
                                                                                  path_id):
    """Found by Schemathesis: werkzeug matched the other method's rule before the converter refused the id."""
    assert_error(client.open(url.format(path_id), method=method, headers=auth.headers(student)), 404)


@pytest.mark.parametrize("value", [0, 7, 999999999, 1000000000, 1999999999, 2000000000, 2147483646, 2147483647,
                                   2147483648, 2147483650, 2147484647, 2200000000, 3000000000, 9999999999])
def test_bounded_integer_regex_is_exactly_the_range(value):
    import re

    from app.common.inputs import digits_up_to

    assert bool(re.fullmatch(digits_up_to(2**31 - 1), str(value))) == (value <= 2**31 - 1)


def test_largest_int32_path_id_is_an_ordinary_miss(client):
    assert_error(client.get(f"/api/v1/tutors/{2**31 - 1}"), 404)


def test_openapi_documents_path_id_bounds(client):
    path = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/tutors/{tutor_id}"]
    parameters = path.get("parameters", []) + path["get"].get("parameters", [])
    parameter = next(p for p in parameters if p["name"] == "tutor_id")
    assert parameter["schema"]["type"] == "integer"
    assert parameter["schema"]["minimum"] == 0
    assert parameter["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize("query", [f"page={2**62}", f"page={TOO_BIG}", f"page={10**30}", f"page_size={2**62}"])
def test_pagination_out_of_range_is_422(client, query):
    body = assert_error(client.get(f"/api/v1/tutors?{query}"), 422)
    assert body["errors"]


def test_largest_page_is_an_empty_page(client):
    response = client.get(f"/api/v1/tutors?page={2**31 - 1}")
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("query", [f"max_rate={2**40}", f"min_rate={2**40}", f"max_rate={2**63}"])
def test_search_integer_out_of_range_is_422(client, query):
    body = assert_error(client.get(f"/api/v1/tutors?{query}"), 422)
    assert set(body["errors"]) <= {"max_rate", "min_rate"}
    assert "10000000" in json.dumps(body["errors"])


@pytest.mark.parametrize("tutor_id", [TOO_BIG, 2**63, 2**64, -(2**63) - 1])
def test_booking_with_tutor_id_out_of_range_is_422(client, auth, student, tutor_id):
    body = {"tutor_id": tutor_id, "start": "2030-01-07T15:00:00+00:00", "duration": 60, "subject": "calculus"}
    error = assert_error(client.post("/api/v1/bookings", json=body, headers=auth.headers(student)), 422)
    assert "tutor_id" in error["errors"]


def test_integer_with_thousands_of_digits_is_422(client, auth, student):
    raw = '{"tutor_id": ' + "9" * 5000 + ', "start": "2030-01-07T15:00:00+00:00", "duration": 60, "subject": "x1"}'
    assert_error(_json(client, "POST", "/api/v1/bookings", raw, auth.headers(student)), 422)


def test_socket_subscribe_with_huge_id_acks_422(app, auth, student):
    client = socketio.test_client(app, auth={"token": auth.tokens(student)["access_token"]})
    for tutor_id in (TOO_BIG, 2**64, -(2**63), 10**99):  # python-engineio drops packets with longer integers
        ack = client.emit("subscribe", {"tutor_id": tutor_id}, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == 422, ack
    client.disconnect()


# ---- defect 5: text -----------------------------------------------------------------------------------------

BAD_TEXT = ["nul\x00byte", "lone \ud800 surrogate", "low \udfff", "\x00"]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_bad_text_in_a_json_body_is_422(client, auth, student, text):
    body = {"tutor_id": 1, "start": "2030-01-07T15:00:00+00:00", "duration": 60, "subject": "calculus",
            "note": text}
    error = assert_error(client.post("/api/v1/bookings", json=body, headers=auth.headers(student)), 422)
    assert "note" in error["errors"]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_bad_text_in_a_profile_update_is_422_and_never_stored(client, auth, student, text):
    raw = json.dumps({"bio": text})  # ensure_ascii: the surrogate travels as \ud800, as a client would send it
    assert_error(_json(client, "PATCH", "/api/v1/users/me", raw, auth.headers(student)), 422)


@pytest.mark.parametrize("text", ["a\x00b", "\x00"])
def test_nul_in_a_query_string_is_422(client, text):
    assert_error(client.get("/api/v1/tutors", query_string={"subject": text}), 422)


def test_nul_in_a_key_is_422(client, auth, student):
    raw = json.dumps({"bio\x00": "x"})
    assert_error(_json(client, "PATCH", "/api/v1/users/me", raw, auth.headers(student)), 422)


def test_nul_in_a_signup_is_422(client):
    body = {"email": "a\x00@example.com", "password": "correct horse battery", "full_name": "A\x00",
            "roles": ["student"], "timezone": "Europe/London"}
    assert_error(client.post("/api/v1/auth/signup", json=body), 422)


def test_nul_in_a_login_is_422(client):
    assert_error(client.post("/api/v1/auth/login", json={"email": "a\x00@b.c", "password": "x\x00"}), 422)


@pytest.mark.parametrize("url", ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/bookings"])
def test_deeply_nested_json_is_422(client, auth, student, url):
    assert_error(_json(client, "POST", url, _deep(), auth.headers(student)), 422)
    assert_error(_json(client, "POST", url, '{"a": ' + _deep() + "}", auth.headers(student)), 422)


def test_moderately_nested_json_is_still_a_plain_validation_error(client, auth, student):
    body = assert_error(_json(client, "PATCH", "/api/v1/users/me", '{"bio": ' + _deep(50) + "}",
                              auth.headers(student)), 422)
    assert body["errors"]


def test_ordinary_unicode_still_passes(client, auth, student):
    response = client.patch("/api/v1/users/me", json={"bio": "Grüße 👋 — 日本語\ttab\nline"},
                            headers=auth.headers(student))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["bio"] == "Grüße 👋 — 日本語\ttab\nline"


@pytest.fixture
def sock(app, auth, student):
    client = socketio.test_client(app, auth={"token": auth.tokens(student)["access_token"]})
    assert client.is_connected()
    yield client
    client.disconnect()


@pytest.mark.parametrize("text", BAD_TEXT)
def test_socket_bad_text_acks_422(sock, text):
    ack = sock.emit("message:send", {"conversation_id": 1, "body": text, "client_id": "c1"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack
    assert "body" in ack["error"]["errors"]


def test_socket_bad_text_in_a_key_acks_422(sock):
    ack = sock.emit("subscribe", {"tutor_id": 1, "x\x00": 1}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack


def test_socket_deep_payload_acks_422(sock):
    payload = {"conversation_id": 1, "client_id": "c1", "body": json.loads(_deep(200))}
    ack = sock.emit("message:send", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack


# ---- every door bounded ---------------------------------------------------------------------------------------

def _schema_classes():
    import importlib
    import pkgutil

    import marshmallow

    import app as package

    for module_info in pkgutil.walk_packages(package.__path__, "app."):
        if module_info.name.rsplit(".", 1)[-1] in {"schemas", "events"}:
            importlib.import_module(module_info.name)
    seen, todo = set(), list(marshmallow.Schema.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo.extend(cls.__subclasses__())
    return [cls for cls in seen if cls.__module__.startswith("app.")]


def _integer_fields(field, name):
    from marshmallow import fields

    if isinstance(field, fields.Integer):
        yield name, field
    for inner_name in ("inner", "value_field", "key_field"):
        inner = getattr(field, inner_name, None)
        if inner is not None:
            yield from _integer_fields(inner, f"{name}.{inner_name}")


def test_every_schema_integer_is_bounded(app):
    """An unbounded fields.Integer lets 2**63 reach the database: every one is app.common.inputs.Integer."""
    from marshmallow import validate

    from app.common.inputs import INT32_MAX, INT32_MIN, Integer

    unbounded = []
    for cls in _schema_classes():
        for field_name, field in cls._declared_fields.items():
            for name, integer in _integer_fields(field, field_name):
                ranges = [v for v in integer.validators if isinstance(v, validate.Range)]
                if not isinstance(integer, Integer) or not any(
                        r.min is not None and r.max is not None and r.min >= INT32_MIN and r.max <= INT32_MAX
                        for r in ranges):
                    unbounded.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert unbounded == []


def test_no_route_answers_500_for_a_huge_path_id(app, client, auth):
    """Every rule with an <int:...> argument, every method, anonymous and signed in: never a 500."""
    import re

    admin = UserFactory(roles=["admin", "student", "tutor"])
    headers = auth.headers(admin)
    probed = 0
    for rule in app.url_map.iter_rules():
        names = re.findall(r"<int:(\w+)>", rule.rule)
        if not names or not rule.rule.startswith("/api/"):
            continue
        url = rule.rule
        for name in names:
            url = url.replace(f"<int:{name}>", str(TOO_BIG))
        url = re.sub(r"<[^>]+>", "x", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for auth_headers in ({}, headers):
                response = client.open(url, method=method, json={}, headers=auth_headers)
                assert response.status_code < 500, (method, url, response.get_data(as_text=True))
                probed += 1
    assert probed > 60


def _emit_raw(client, raw_data):
    """Send an EVENT packet with a given JSON text, as a client on the wire would (the test client cannot even
    encode a structure this deep), the way the test client's own emit hands packets to the server."""
    client.callback_counter += 1
    socketio.server._handle_eio_message(client.eio_sid, f"2{client.callback_counter}{raw_data}")
    ack, client.acks = client.acks, None
    return ack and ack["args"][0]


def test_socket_payload_too_deep_to_decode_acks_422(sock):
    """Past the decoder's recursion limit the packet's data is unreadable, but its ack id is not: a 422 ack."""
    ack = _emit_raw(sock, '["message:send", ' + _deep() + "]")
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack
    ack = _emit_raw(sock, '["subscribe", {"tutor_id": ' + "9" * 150 + "}]")
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack
    ack = sock.emit("subscribe", {"tutor_id": TOO_BIG}, callback=True)
    assert ack["error"]["code"] == 422, ack


def test_socket_integer_too_long_to_decode_acks_422(sock):
    ack = sock.emit("subscribe", {"tutor_id": 10**150}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422, ack


def test_socket_undecodable_packet_from_an_anonymous_sender_is_not_a_500(app, student):
    from app.common.inputs import SocketJSON

    assert SocketJSON.loads("[" * DEEP + "]" * DEEP)[0] == "tutorhub:undecodable"
    assert SocketJSON.loads('["subscribe", {"tutor_id": 1}]') == ["subscribe", {"tutor_id": 1}]
