"""`flask users create-admin` and `flask seed-demo`, through Flask's CLI runner."""
import sqlalchemy as sa

from app.auth.services import login
from app.common.transactions import unit_of_work
from app.seed import DEMO_PASSWORD, DEMO_USERS
from app.users.models import User, UserRole
from tests.factories import UserFactory


def test_create_admin_creates_a_confirmed_admin(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "Boss@Example.com", "--password", "granite-meadow-compass", "--name", "Boss"]
    )

    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert user.roles == ["admin"] and user.email_confirmed and user.full_name == "Boss"
    with app.test_request_context(), unit_of_work():
        assert login("boss@example.com", "granite-meadow-compass")["access_token"]


def test_create_admin_prompts_for_the_password(app, db):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "boss@example.com"],
                                          input="granite-meadow-compass\ngranite-meadow-compass\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_create_admin_promotes_an_existing_user(app, db):
    user = UserFactory(email="kim@example.com", roles=["tutor"])
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "KIM@example.com"])
    assert result.exit_code == 0, result.output
    assert "is now an admin" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == ["admin", "tutor"]


def test_create_admin_refuses_a_weak_password(app, db):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "boss@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def _counts(db):
    return (db.session.scalar(sa.select(sa.func.count()).select_from(User)),
            db.session.scalar(sa.select(sa.func.count()).select_from(UserRole)))


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = _counts(db)
    assert counts[0] == len(DEMO_USERS)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _counts(db) == counts
    for spec in DEMO_USERS:
        assert spec["email"] in first.output
    assert DEMO_PASSWORD in first.output
    with app.test_request_context(), unit_of_work():
        result = login("admin@tutorhub.test", DEMO_PASSWORD)
    assert result["user"].roles == ["admin"] and result["user"].email_confirmed
