"""Reviews' public face: the routes, the admin portal, jobs and other domains call these, never the modules behind.

Behind it: ``reviews`` (writing, editing, replying, reading, the double-blind release), ``moderation`` (flags,
helpful votes, the admin queue and decisions), ``aggregation`` (incremental rating aggregates and the tutor
profile's rating columns, written through tutors' services) and ``insights`` (pandas feedback reports).
Nothing here commits: the caller's unit of work does.
"""
from app.reviews import aggregation, insights, moderation, reviews, timelines

QUEUE_FILTERS = moderation.QUEUE_FILTERS
STUDENT_DIMENSIONS = timelines.STUDENT_DIMENSIONS
TUTOR_DIMENSIONS = timelines.TUTOR_DIMENSIONS


# --- reviews ------------------------------------------------------------------------------------

def create_review(user, booking_id, data):
    """A participant's review of a completed session; releases both when the other side has reviewed too."""
    return reviews.create_review(user, booking_id, data)


def edit_review(user, review_id, changes):
    return reviews.edit_review(user, review_id, changes)


def reply(user, review_id, text):
    return reviews.reply(user, review_id, text)


def session_reviews(user, booking_id):
    return reviews.session_reviews(user, booking_id)


def public_reviews_query(tutor_id, sort="newest"):
    return reviews.public_reviews_query(tutor_id, sort)


def student_ratings_query(user, student_id):
    return reviews.student_ratings_query(user, student_id)


def tutor_summary(tutor_id):
    return reviews.tutor_summary(tutor_id)


def release_due(now=None, limit=1000):
    """Release reviews whose window has closed (a periodic job); returns how many were released."""
    return reviews.release_due(now=now, limit=limit)


# --- moderation ---------------------------------------------------------------------------------

def flag(user, review_id, reason):
    return moderation.flag(user, review_id, reason)


def mark_helpful(user, review_id):
    return moderation.mark_helpful(user, review_id)


def queue_query(status="queued"):
    """The moderation queue (``queued``) or the reviews in one status, as a SELECT to paginate."""
    return moderation.queue_query(status)


def moderate(admin, review_id, action, reason):
    """Hide, restore or remove a review: audit row, aggregates and the author's email in one transaction."""
    return moderation.moderate(admin, review_id, action, reason)


def moderation_events(review_id):
    return moderation.moderation_events(review_id)


# --- aggregates and insights --------------------------------------------------------------------

def refresh_all_bayesian():
    """Rewrite every rated tutor's Bayesian average with the current prior (a periodic job); rows updated."""
    return aggregation.refresh_all_bayesian()


def feedback_insights(tutor_id, now=None):
    return insights.feedback_insights(tutor_id, now=now)


def rating_drops(threshold=0.5, days=90, now=None):
    return insights.rating_drops(threshold, days, now=now)


# --- ratings over time (progress dashboards) ----------------------------------------------------

def ratings_of_student(student_id, since, until):
    """Tutors' released ratings of a student written in ``[since, until)``, oldest first (no private notes)."""
    return timelines.ratings_of_student(student_id, since, until)


def ratings_of_tutor(tutor_id, since, until):
    """Students' released, visible ratings of a tutor written in ``[since, until)``, oldest first."""
    return timelines.ratings_of_tutor(tutor_id, since, until)
