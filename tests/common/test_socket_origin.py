"""Socket.IO accepts CORS_ORIGINS and the server's own origin, and refuses any other Origin."""
import pytest

from app.common.sockets import origin_check

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def _handshake(client, origin, **headers):
    return client.get(HANDSHAKE, headers={"Origin": origin, **headers})


@pytest.mark.parametrize("origin", ["http://localhost", "http://localhost:3000"])
def test_own_origin_and_cors_origins_are_accepted(app, client, origin):
    assert app.config["CORS_ORIGINS"] == ["http://localhost:3000"]
    response = _handshake(client, origin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert '"sid"' in response.get_data(as_text=True)


@pytest.mark.parametrize("origin", ["http://evil.example", "https://localhost", "http://localhost:5000"])
def test_other_origins_are_refused(client, origin):
    assert _handshake(client, origin).status_code == 400


def test_forwarded_scheme_only_behind_a_trusted_proxy():
    environ = {"HTTP_HOST": "app.example", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https"}
    assert origin_check([], trust_forwarded=True)("https://app.example", environ)
    assert not origin_check([], trust_forwarded=False)("https://app.example", environ)
    assert origin_check([], trust_forwarded=False)("http://app.example", environ)
    assert origin_check(["*"])("https://anything.example", environ)
