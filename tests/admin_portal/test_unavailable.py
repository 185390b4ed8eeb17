"""Redis down under a signed-in portal session: a 503 page with Retry-After, not a bare 500."""
import redis

from tests.conftest import free_port


def test_portal_page_answers_503_page_when_redis_is_down(signed_in, app, monkeypatch):
    monkeypatch.setitem(app.extensions, "redis", redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"))
    response = signed_in.client.get("/admin/")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    assert "try again" in response.get_data(as_text=True).lower()
