"""Demo packages and plans (`flask seed-demo`): María offers a package and a monthly plan, James a package Sam
holds credits of, Yuki a plan Léa subscribes to. Through the services (so the money moves through the ledger);
a second run adds nothing (offers by title, one purchase or subscription per offer). The caller's unit commits."""
import sqlalchemy as sa

from app.extensions import db
from app.payments import packages, subscriptions
from app.payments.package_models import PackageOffer, PackagePurchase, PackageSubscription

DEMO_OFFERS = {
    "maria.garcia@tutorhub.test": [
        {"kind": "package", "title": "Five calculus hours", "sessions": 5, "duration_minutes": 60,
         "discount_percent": 15},
        {"kind": "plan", "title": "Weekly statistics hour", "sessions": 4, "duration_minutes": 60,
         "price_minor": 15000},
    ],
    "james.okafor@tutorhub.test": [
        {"kind": "package", "title": "Four half hours of Python", "sessions": 4, "duration_minutes": 30,
         "discount_percent": 10},
    ],
    "yuki.tanaka@tutorhub.test": [
        {"kind": "plan", "title": "JLPT speaking practice", "sessions": 4, "duration_minutes": 30, "price_minor": 6000},
    ],
}
# (student, tutor, offer title): a package bought or a plan subscribed to.
DEMO_HOLDINGS = [
    ("sam.student@tutorhub.test", "james.okafor@tutorhub.test", "Four half hours of Python"),
    ("lea.martin@tutorhub.test", "yuki.tanaka@tutorhub.test", "JLPT speaking practice"),
]


def _offer(tutor_id, title):
    return db.session.scalar(sa.select(PackageOffer).where(PackageOffer.tutor_id == tutor_id,
                                                           PackageOffer.title == title))


def seed_packages(users_by_email):
    for email, offers in DEMO_OFFERS.items():
        tutor = users_by_email.get(email)
        if tutor is None:
            continue
        for data in offers:
            if _offer(tutor.id, data["title"]) is None:
                packages.create_offer(tutor, data)
    for student_email, tutor_email, title in DEMO_HOLDINGS:
        student, tutor = users_by_email.get(student_email), users_by_email.get(tutor_email)
        offer = _offer(tutor.id, title) if student and tutor else None
        if offer is None:
            continue
        if offer.kind == "package":
            if db.session.scalar(sa.select(PackagePurchase.id).where(PackagePurchase.offer_id == offer.id,
                                                                     PackagePurchase.student_id == student.id)):
                continue
            packages.buy_package(student, offer.id)
        elif not db.session.scalar(sa.select(PackageSubscription.id).where(
                PackageSubscription.offer_id == offer.id, PackageSubscription.student_id == student.id)):
            subscriptions.subscribe(student, offer.id)
