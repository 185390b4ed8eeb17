"""Portal: an admin without the MFA their role requires is sent to set it up; the users page changes roles,
deactivates and reactivates (CSRF, audit row), through the same service as the API."""
import re

import pyotp
import pytest

from app.extensions import db
from app.users.models import User, UserAdminEvent
from tests.factories import UserFactory


@pytest.fixture
def mfa_required(app):
    app.config["MFA_REQUIRED_ROLES"] = ("admin",)
    yield
    app.config["MFA_REQUIRED_ROLES"] = ()


def test_admin_without_mfa_is_sent_to_set_it_up(portal, admin, mfa_required):
    response = portal.login(admin.email)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/mfa/setup"
    for path in ("/admin/", "/admin/users", "/admin/reviews"):
        assert portal.client.get(path).headers["Location"] == "/admin/mfa/setup"
    assert portal.submit("/admin/mfa/setup", "/admin/users/1/deactivate").status_code == 403
    assert portal.submit("/admin/mfa/setup", "/admin/mfa/setup").status_code == 303
    page = portal.client.get("/admin/mfa/setup").get_data(as_text=True)
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page).group(1)
    wrong = portal.submit("/admin/mfa/setup", "/admin/mfa/enable", code="000000")
    assert wrong.status_code == 303
    done = portal.submit("/admin/mfa/setup", "/admin/mfa/enable", code=pyotp.TOTP(secret).now())
    assert done.status_code == 200 and 'id="recovery-codes"' in done.get_data(as_text=True)
    assert portal.client.get("/admin/").status_code == 200


def test_users_page_changes_roles_with_audit(signed_in, admin):
    user = UserFactory(roles=["student"], email="pat@example.com")
    page = signed_in.client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{user.id}/roles" in page and f"/admin/users/{user.id}/deactivate" in page
    response = signed_in.submit("/admin/users", f"/admin/users/{user.id}/roles", roles=["student", "tutor"])
    assert response.status_code == 303
    assert "roles saved" in signed_in.client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == ["student", "tutor"]
    event = db.session.scalar(db.select(UserAdminEvent).where(UserAdminEvent.user_id == user.id))
    assert (event.admin_id, event.action, event.detail) == (
        admin.id, "roles", {"before": ["student"], "after": ["student", "tutor"]})


def test_users_page_deactivates_and_reactivates(signed_in, admin):
    user = UserFactory(roles=["student"])
    version = user.token_version
    signed_in.submit("/admin/users", f"/admin/users/{user.id}/deactivate")
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active is False
    assert db.session.get(User, user.id).token_version == version + 1
    assert f"/admin/users/{user.id}/reactivate" in signed_in.client.get("/admin/users").get_data(as_text=True)
    signed_in.submit("/admin/users", f"/admin/users/{user.id}/reactivate")
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active is True
    actions = db.session.scalars(db.select(UserAdminEvent.action).where(UserAdminEvent.user_id == user.id)
                                 .order_by(UserAdminEvent.id)).all()
    assert actions == ["deactivate", "reactivate"]


def test_users_page_refusals(signed_in, admin):
    signed_in.submit("/admin/users", f"/admin/users/{admin.id}/deactivate")
    assert "cannot deactivate themselves" in signed_in.client.get("/admin/users").get_data(as_text=True)
    signed_in.submit("/admin/users", "/admin/users/999999/deactivate")
    assert "No such user" in signed_in.client.get("/admin/users").get_data(as_text=True)
    user = UserFactory(roles=["student"])
    assert signed_in.client.post(f"/admin/users/{user.id}/deactivate", data={}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active is True
    assert db.session.scalar(db.select(db.func.count(UserAdminEvent.id))) == 0


def test_api_update_writes_audit_and_events_endpoint(client, auth, db):
    admin = UserFactory(roles=["admin"])
    user = UserFactory(roles=["student"])
    response = client.patch(f"/api/v1/admin/users/{user.id}", json={"is_active": False},
                            headers=auth.headers(admin))
    assert response.status_code == 200
    events = client.get(f"/api/v1/admin/users/{user.id}/events", headers=auth.headers(admin)).get_json()
    assert [(e["action"], e["admin_id"]) for e in events] == [("deactivate", admin.id)]
    assert client.get(f"/api/v1/admin/users/{user.id}/events", headers=auth.headers(user)).status_code in (401, 403)
    assert client.get("/api/v1/admin/users/999999/events", headers=auth.headers(admin)).status_code == 404
