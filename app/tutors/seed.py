"""Demo tutor profiles for `flask seed-demo` (idempotent: a second run rewrites the same values)."""
import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.tutors import documents
from app.tutors.models import Subject, TutorProfile
from app.tutors.services import save_profile

# Subjects the demo profiles use (the migration seeds the full catalog; this covers an emptied table).
DEMO_SUBJECTS = {
    "mathematics": ("Mathematics", "STEM"), "calculus": ("Calculus", "STEM"), "statistics": ("Statistics", "STEM"),
    "programming-python": ("Python Programming", "STEM"), "computer-science": ("Computer Science", "STEM"),
    "japanese": ("Japanese", "Languages"), "test-prep-jlpt": ("JLPT Preparation", "Test Prep"),
}

DEMO_PROFILES = {
    "maria.garcia@tutorhub.test": {
        "headline": "Calculus, statistics and exam preparation with a PhD mathematician",
        "bio": "Ten years teaching university calculus and statistics in Madrid and online. Worked examples, "
               "visual intuition first, then rigour.",
        "rate_cents": 4500, "currency": "EUR", "mode": "both", "city": "Madrid", "country": "ES",
        "latitude": 40.4168, "longitude": -3.7038, "travel_radius_km": 15, "years_experience": 10,
        "offers_trial": True, "languages": ["en", "es"], "teaching_styles": ["reading", "visual"],
        "subjects": [{"subject": "calculus", "level": "university"}, {"subject": "statistics", "level": "university"},
                     {"subject": "mathematics", "level": "secondary"}],
    },
    "james.okafor@tutorhub.test": {
        "headline": "Python, data structures and coding-interview practice",
        "bio": "Software engineer in New York. We write code from the first minute: projects, katas and mock "
               "interviews.",
        "rate_cents": 6000, "currency": "USD", "mode": "online", "city": "New York", "country": "US",
        "latitude": 40.7128, "longitude": -74.0060, "travel_radius_km": None, "years_experience": 7,
        "offers_trial": False, "languages": ["en"], "teaching_styles": ["kinesthetic", "visual"],
        "subjects": [{"subject": "programming-python", "level": "university"},
                     {"subject": "programming-python", "level": "professional"},
                     {"subject": "computer-science", "level": "university"}],
    },
    "yuki.tanaka@tutorhub.test": {
        "headline": "Japanese conversation and JLPT N5 to N1 preparation",
        "bio": "Native speaker from Tokyo. Listening-heavy lessons, shadowing and graded reading.",
        "rate_cents": 3500, "currency": "JPY", "mode": "both", "city": "Tokyo", "country": "JP",
        "latitude": 35.6762, "longitude": 139.6503, "travel_radius_km": 8, "years_experience": 6,
        "offers_trial": True, "languages": ["en", "ja"], "teaching_styles": ["auditory", "reading"],
        "subjects": [{"subject": "japanese", "level": "university"}, {"subject": "japanese", "level": "professional"},
                     {"subject": "test-prep-jlpt", "level": "professional"}],
    },
}


def _ensure_subjects():
    present = set(db.session.scalars(sa.select(Subject.slug).where(Subject.slug.in_(DEMO_SUBJECTS))))
    for slug, (name, category) in DEMO_SUBJECTS.items():
        if slug not in present:
            db.session.add(Subject(slug=slug, name=name, category=category))
    db.session.flush()


def seed_tutor_profiles(users_by_email):
    """Give the demo tutors realistic profiles, subjects and locations."""
    _ensure_subjects()
    for email, profile in DEMO_PROFILES.items():
        user = users_by_email.get(email)
        if user is not None:
            save_profile(user, profile)


DEMO_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def seed_market_profiles(tutor_specs, users_by_email):
    """The demo marketplace's tutor profiles, created once (a tutor may have edited theirs since)."""
    existing = set(db.session.scalars(sa.select(TutorProfile.user_id).where(
        TutorProfile.user_id.in_([users_by_email[spec["email"]].id for spec in tutor_specs]))))
    for spec in tutor_specs:
        user = users_by_email[spec["email"]]
        if user.id not in existing:
            save_profile(user, spec["profile"])


def seed_market_documents(tutor_specs, users_by_email, admin):
    """An ID card and a certificate for most demo tutors, once; an admin approves those of the tutors planned
    as verified (the verified badge), the others wait in the portal's verification queue."""
    for spec in tutor_specs:
        tutor = users_by_email[spec["email"]]
        if not spec["documents"] or documents.my_documents(tutor):
            continue
        for kind in ("id_card", "certificate"):
            document = documents.upload_document(
                tutor, kind, FileStorage(stream=io.BytesIO(DEMO_PDF), filename=f"{kind}.pdf"))
            db.session.flush()
            if spec["verified"] and admin is not None:
                documents.approve_document(admin, document.id)
