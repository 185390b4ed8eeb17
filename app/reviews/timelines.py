"""Ratings over time for the progress dashboards: released, visible reviews only, numbers without notes."""
import sqlalchemy as sa

from app.extensions import db
from app.reviews.models import STUDENT_DIMENSIONS, TUTOR_DIMENSIONS, Review


def _ratings(author_role, column, person_id, since, until, dimensions):
    """``{"booking_id", "rated_at", <dimension>...}`` per review, oldest first; ``rated_at`` is when it was written."""
    rows = db.session.execute(
        sa.select(Review.booking_id, Review.created_at, *(getattr(Review, name) for name in dimensions))
        .where(column == person_id, Review.author_role == author_role, Review.released_at.is_not(None),
               Review.status == "visible", Review.created_at >= since, Review.created_at < until)
        .order_by(Review.created_at, Review.id))
    return [{"booking_id": row[0], "rated_at": row[1], **dict(zip(dimensions, row[2:], strict=True))}
            for row in rows]


def ratings_of_student(student_id, since, until):
    """The tutors' released ratings of the student (preparedness, engagement, punctuality) written in the window."""
    return _ratings("tutor", Review.student_id, student_id, since, until, TUTOR_DIMENSIONS)


def ratings_of_tutor(tutor_id, since, until):
    """The students' released, visible ratings of the tutor (clarity … overall) written in the window."""
    return _ratings("student", Review.tutor_id, tutor_id, since, until, STUDENT_DIMENSIONS)
