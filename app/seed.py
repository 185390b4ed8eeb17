"""`flask seed-demo`: demo accounts with realistic profiles; running it twice changes nothing.

``seed_demo`` calls each domain's seed function in order, each step in its own unit of work.
"""
import click
from flask import current_app

from app.analytics.seed import seed_analytics
from app.common.security import hash_password
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching.seed import seed_match_log
from app.messaging.seed import seed_market_chats, seed_messaging
from app.payments.dispute_seed import seed_open_dispute
from app.payments.package_seed import seed_packages
from app.payments.paypal_seed import seed_payout_accounts
from app.payments.seed import seed_wallets
from app.progress.seed import seed_progress
from app.reviews.seed import seed_market_reviews, seed_reviews
from app.scheduling.dispute_seed import seed_disputed_session
from app.scheduling.seed import (
    seed_demo_availability,
    seed_demo_sessions,
    seed_market_availability,
    seed_market_sessions,
)
from app.seed_market import market_plan
from app.tutors import services as tutors
from app.tutors.seed import seed_market_documents, seed_market_profiles, seed_tutor_profiles
from app.users import services as users

DEMO_PASSWORD = "tutorhub-demo-2026"

DEMO_USERS = [
    {"email": "admin@tutorhub.test", "full_name": "Alex Admin", "roles": ["admin"], "timezone": "UTC",
     "bio": "Platform administrator."},
    {"email": "maria.garcia@tutorhub.test", "full_name": "María García", "roles": ["tutor"],
     "timezone": "Europe/Madrid", "bio": "PhD in applied mathematics; ten years teaching calculus and statistics.",
     "learning_styles": ["visual", "reading"]},
    {"email": "james.okafor@tutorhub.test", "full_name": "James Okafor", "roles": ["tutor", "instructor"],
     "timezone": "America/New_York", "bio": "Software engineer teaching Python and data structures.",
     "learning_styles": ["kinesthetic"]},
    {"email": "yuki.tanaka@tutorhub.test", "full_name": "Yuki Tanaka", "roles": ["tutor"], "timezone": "Asia/Tokyo",
     "bio": "Native Japanese speaker, JLPT preparation from N5 to N1.", "learning_styles": ["auditory"]},
    {"email": "sam.student@tutorhub.test", "full_name": "Sam Patel", "roles": ["student"],
     "timezone": "America/Chicago", "bio": "High-school senior preparing for AP Calculus.",
     "learning_styles": ["visual"]},
    {"email": "lea.martin@tutorhub.test", "full_name": "Léa Martin", "roles": ["student"],
     "timezone": "Europe/Paris", "bio": "Learning Japanese for a year abroad.", "learning_styles": ["auditory", "reading"]},
]


def seed_demo(market=None):
    """Seed every domain's demo data; returns {email: User} of the named demo accounts. ``market`` (default:
    the SEED_DEMO_MARKET setting, on except in tests) adds the demo marketplace around them."""
    with unit_of_work():
        users_by_email = _seed_users()
    with unit_of_work():
        seed_tutor_profiles(users_by_email)
    with unit_of_work():
        seed_demo_availability(users_by_email)
    with unit_of_work():
        seed_wallets(users_by_email)
    with unit_of_work():
        sessions = seed_demo_sessions(users_by_email)
        seed_reviews(users_by_email, sessions)
    with unit_of_work():
        seed_messaging(users_by_email)
    with unit_of_work():
        seed_payout_accounts(users_by_email)
    with unit_of_work():
        seed_open_dispute(users_by_email, seed_disputed_session(users_by_email))
    with unit_of_work():
        seed_packages(users_by_email)
    with unit_of_work():
        seed_progress(users_by_email)
    if current_app.config.get("SEED_DEMO_MARKET", True) if market is None else market:
        seed_market(users_by_email)
    seed_match_log()  # before the analytics rollups, which count the tutors shown
    with unit_of_work():
        people = db.session.scalars(users.admin_user_query()).all()
        seed_analytics(people, [subject.slug for subject in tutors.list_subjects()][:8])
    return users_by_email


def seed_market(users_by_email):
    """The demo marketplace around the named accounts (``app/seed_market.py``), each step in its own unit."""
    plan = market_plan([{"slug": s.slug, "name": s.name} for s in tutors.list_subjects()])
    with unit_of_work():
        people = _seed_users(
            [{**spec["user"], "email": spec["email"], "full_name": spec["full_name"], "timezone": spec["timezone"],
              "roles": ["tutor"]} for spec in plan["tutors"]]
            + [{**spec["user"], "email": spec["email"], "full_name": spec["full_name"], "timezone": spec["timezone"],
                "roles": ["student"]} for spec in plan["students"]])
    everyone = {**users_by_email, **people}
    with unit_of_work():
        seed_market_profiles(plan["tutors"], everyone)
    with unit_of_work():
        seed_market_documents(plan["tutors"], everyone, users_by_email.get("admin@tutorhub.test"))
    with unit_of_work():
        seed_market_availability(plan["tutors"], everyone)
    with unit_of_work():
        bookings = seed_market_sessions(plan["sessions"], everyone)
        seed_market_reviews(plan["sessions"], bookings)
    with unit_of_work():
        seed_market_chats(plan["chats"], everyone)
    return plan


def _seed_users(specs=DEMO_USERS):
    created = {}
    password_hash = None
    for spec in specs:
        spec = dict(spec)
        user = users.find_by_email(spec["email"])
        if user is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)  # one hash for every demo account
            roles = spec.pop("roles")
            user = users.create_user(spec.pop("email"), DEMO_PASSWORD, spec.pop("full_name"), roles,
                                     email_confirmed_at=utcnow(), password_hash=password_hash, **spec)
        created[user.email] = user
    return created


def register(app):
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo accounts (idempotent) and print their logins."""
        users_by_email = seed_demo()
        click.echo(f"Demo marketplace: {tutors.listed_tutor_count()} listed tutors; "
                   f"{len(users_by_email)} named demo accounts.")
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for spec in DEMO_USERS:
            click.echo(f"  {', '.join(spec['roles']):<18} {spec['email']}")

