"""Tutor profiles, the subject catalog and the profile's rating columns; documents live in documents.py and are
re-exported here (the domain's one door). Nothing here commits: the caller's unit of work does."""
import sqlalchemy as sa

from app.common.errors import Invalid, NotFound
from app.extensions import db
from app.tutors.documents import (  # noqa: F401  (the admin portal imports these from services)
    approve_document,
    dashboard_counts,
    delete_my_document,
    document_download_url,
    get_document,
    is_verified,
    list_documents_for_review,
    my_document,
    my_documents,
    recompute_verified,
    reject_document,
    review_query,
    upload_document,
)
from app.tutors.models import Subject, TutorProfile, TutorSubject
from app.users.models import User


def list_subjects():
    return db.session.scalars(sa.select(Subject).order_by(Subject.category, Subject.name)).all()


def subject_slugs():
    return db.session.scalars(sa.select(Subject.slug).order_by(Subject.slug)).all()


def subject_by_slug(slug):
    """The subject, or 422 naming the valid slugs."""
    subject = db.session.scalar(sa.select(Subject).where(Subject.slug == slug))
    if subject is None:
        valid = subject_slugs()
        raise Invalid(f"Unknown subject {slug!r}.", errors={"subject": [f"Unknown subject; valid: {', '.join(valid)}"]})
    return subject


def require_taught_subject(tutor_id, slug):
    """A booking's subject: a known one and, when the tutor's profile lists subjects, one of those (else 422)."""
    subject = subject_by_slug(slug)
    taught = db.session.scalars(
        sa.select(Subject.slug).join(TutorSubject, TutorSubject.subject_id == Subject.id)
        .where(TutorSubject.tutor_id == tutor_id).distinct().order_by(Subject.slug)
    ).all()
    if taught and slug not in taught:
        raise Invalid(f"This tutor does not teach {subject.name}.",
                      errors={"subject": [f"Not taught by this tutor; choose one of: {', '.join(taught)}"]})
    return subject


def _resolve_subjects(entries):
    slugs = {entry["subject"] for entry in entries}
    found = {s.slug: s for s in db.session.scalars(sa.select(Subject).where(Subject.slug.in_(slugs)))}
    unknown = sorted(slugs - set(found))
    if unknown:
        valid = subject_slugs()
        raise Invalid(f"Unknown subject(s): {', '.join(unknown)}.",
                      errors={"subjects": [f"Unknown subject(s) {', '.join(unknown)}; valid: {', '.join(valid)}"]})
    pairs = sorted({(found[e["subject"]].id, e["level"]) for e in entries})
    return [TutorSubject(subject_id=subject_id, level=level) for subject_id, level in pairs]


def my_profile(user):
    profile = db.session.get(TutorProfile, user.id)
    if profile is None:
        raise NotFound("You have no tutor profile yet; PUT /api/v1/tutors/me to create it.")
    return profile


def save_profile(user, data):
    """Create or replace the caller's tutor profile (PUT semantics: omitted optional fields reset)."""
    data = dict(data)
    subjects = _resolve_subjects(data.pop("subjects"))
    profile = db.session.get(TutorProfile, user.id)
    if profile is None:
        profile = TutorProfile(user_id=user.id, user=user, verified=is_verified(user.id), rating_count=0)
        db.session.add(profile)
    for field, value in data.items():
        setattr(profile, field, value)
    profile.search_name = user.full_name
    profile.subjects = _merge_subjects(profile.subjects, subjects)
    return profile


def _merge_subjects(current, wanted):
    """Keep rows that stay (the ORM would otherwise delete and insert the same primary key in one flush)."""
    wanted_keys = {(row.subject_id, row.level) for row in wanted}
    kept = [row for row in current if (row.subject_id, row.level) in wanted_keys]
    kept_keys = {(row.subject_id, row.level) for row in kept}
    return kept + [row for row in wanted if (row.subject_id, row.level) not in kept_keys]


def listed_tutors_filter():
    """Who appears publicly: active users holding the tutor role, i.e. profiles flagged ``listed``.

    The flag is kept by database triggers (migration 0007) from users.is_active and user_roles, so this is a
    column of the profile row rather than two probes per row into users and user_roles. Rendered as the bare
    column (not ``IS true``) so PostgreSQL matches the partial index ix_tutor_profiles_rank (WHERE listed).
    """
    return sa.and_(TutorProfile.listed)


def listed_tutor_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TutorProfile).where(listed_tutors_filter()))


def public_profile(tutor_id):
    stmt = (sa.select(TutorProfile).join(User, User.id == TutorProfile.user_id)
            .where(TutorProfile.user_id == tutor_id, listed_tutors_filter()))
    profile = db.session.scalar(stmt)
    if profile is None:
        raise NotFound("No such tutor.")
    return profile


def rename_search_entry(user_id, full_name):
    """Keep a tutor profile's search name equal to its account's name (after ``user.renamed``)."""
    profile = db.session.get(TutorProfile, user_id)
    if profile is not None:
        profile.search_name = full_name


def set_rating_summary(tutor_id, *, count, average, bayes):
    """Write a tutor profile's rating columns (reviews keep the aggregates they come from); no profile, no change."""
    db.session.execute(
        sa.update(TutorProfile).where(TutorProfile.user_id == tutor_id)
        .values(rating_count=count, rating_avg=average, rating_bayes=bayes)
        .execution_options(synchronize_session="fetch")
    )


def rating_columns(tutor_id):
    """The profile's rating as search shows and ranks it (``average``, ``bayesian``, ``count``), or None."""
    row = db.session.execute(
        sa.select(TutorProfile.rating_avg, TutorProfile.rating_bayes, TutorProfile.rating_count)
        .where(TutorProfile.user_id == tutor_id)
    ).one_or_none()
    return None if row is None else {"average": row[0], "bayesian": row[1], "count": row[2]}


def set_bayesian_ratings(ratings):
    """Rewrite ``rating_bayes`` of the profiles ``ratings`` lists, in one UPDATE ... FROM; returns rows updated.

    ``ratings`` is a SELECT with the columns ``tutor_id`` and ``rating_bayes`` (reviews builds it from its stats).
    """
    source = ratings.subquery()
    result = db.session.execute(
        sa.update(TutorProfile).where(TutorProfile.user_id == source.c.tutor_id)
        .values(rating_bayes=source.c.rating_bayes)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def rate_for(tutor_id):
    """(rate_cents per hour, currency) of the tutor's profile, or None when the tutor has no profile."""
    row = db.session.execute(
        sa.select(TutorProfile.rate_cents, TutorProfile.currency).where(TutorProfile.user_id == tutor_id)
    ).first()
    return None if row is None else (row.rate_cents, row.currency)
