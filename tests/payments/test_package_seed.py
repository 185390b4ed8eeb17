"""`flask seed-demo` shows packages: María offers a package and a plan, Sam holds credits, Léa subscribes."""
import sqlalchemy as sa

from app.extensions import db
from app.payments.package_models import PackageOffer, PackagePurchase, PackageSubscription
from app.seed import seed_demo
from tests.payments.conftest import balances
from tests.payments.package_helpers import _escrow_matches_holds_and_credits  # noqa: F401  (autouse)


def test_seed_demo_offers_packages_and_gives_credits_once(app, client):
    users = seed_demo()
    seed_demo()
    maria, sam, lea = (users[e] for e in ("maria.garcia@tutorhub.test", "sam.student@tutorhub.test",
                                          "lea.martin@tutorhub.test"))
    kinds = db.session.scalars(sa.select(PackageOffer.kind).where(PackageOffer.tutor_id == maria.id)
                               .order_by(PackageOffer.id)).all()
    assert kinds == ["package", "plan"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PackageOffer)) == 4
    purchase = db.session.scalar(sa.select(PackagePurchase).where(PackagePurchase.student_id == sam.id))
    assert (purchase.credits_left, purchase.price_minor, purchase.currency) == (4, 10800, "USD")
    subscription = db.session.scalar(sa.select(PackageSubscription).where(PackageSubscription.student_id == lea.id))
    assert (subscription.state, subscription.periods) == ("active", 1)
    db.session.rollback()
    assert balances(sam.id, "USD") == {"wallet": 30000 - 6000 - 10800}  # the disputed session, the package
    assert balances(lea.id, "JPY") == {"wallet": 20000 - 3500 - 6000}  # a demo session, then the plan
    public = client.get(f"/api/v1/tutors/{maria.id}/packages").get_json()
    assert [o["price_minor"] for o in public] == [19125, 15000]
