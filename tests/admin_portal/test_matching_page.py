"""Portal "Matching" page: the A/B switch (CSRF), per-arm metrics and models."""
from app.extensions import db
from app.matching import learning
from app.matching.models import MatchSetting


def test_page_shows_the_share_and_arms(signed_in, app):
    page = signed_in.client.get("/admin/matching").get_data(as_text=True)
    assert 'id="arm-fixed"' in page and 'id="arm-learned"' in page
    assert f'{round(app.config["MATCH_LEARNED_SHARE"] * 100)}%' in page and "No model trained yet" in page
    assert 'href="/admin/matching"' in signed_in.client.get("/admin/").get_data(as_text=True)


def test_switch_sets_the_learned_share(signed_in):
    response = signed_in.submit("/admin/matching", "/admin/matching/share", learned_percent="25")
    assert response.status_code == 303
    follow = signed_in.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "now serves 25% of students" in follow
    assert db.session.get(MatchSetting, 1).learned_share == 0.25 and learning.learned_share() == 0.25


def test_switch_refuses_out_of_range_and_missing_csrf(signed_in):
    for value in ("150", "-1", "half"):
        response = signed_in.submit("/admin/matching", "/admin/matching/share", learned_percent=value)
        follow = signed_in.client.get(response.headers["Location"]).get_data(as_text=True)
        assert "whole percentage from 0 to 100" in follow
    assert db.session.get(MatchSetting, 1) is None
    assert signed_in.client.post("/admin/matching/share", data={"learned_percent": "10"}).status_code == 400


def test_page_needs_an_admin(client):
    assert client.get("/admin/matching").status_code == 302
