"""Matching's reactions: committed new weights clear this process's weights cache, a trained model or a new learned
share refreshes the model cache, and other domains' events join outcomes to the match log (each in its own unit of work)."""
from app.common.transactions import unit_of_work
from app.matching import services


def forget_cached_weights(**_change):
    services.clear_weights_cache()


def load_trained_model(**_change):
    """A trained model or a new learned share: re-read both into this process's cache."""
    services.refresh_learned_model()


def on_booking_created(booking_id, student_id, tutor_id, previous_state=None, **_payload):
    """A new booking: a request, or an instant booking (confirmed with no previous state)."""
    if previous_state is None:
        with unit_of_work():
            services.join_booking_created(booking_id, student_id, tutor_id)


def on_booking_completed(booking_id, **_payload):
    with unit_of_work():
        services.join_booking_completed(booking_id)


def on_review_submitted(booking_id, author_role, overall, **_payload):
    if author_role == "student" and overall is not None:
        with unit_of_work():
            services.join_rating(booking_id, overall)


def on_message_created(message, participant_ids, **_payload):
    """A student's own text to the other participant of a two-person conversation."""
    if message.get("kind", "text") != "text" or len(participant_ids) != 2:
        return
    sender = message.get("sender_id")
    others = [user_id for user_id in participant_ids if user_id != sender]
    if sender is None or len(others) != 1:
        return
    with unit_of_work():
        services.join_message(sender, others[0])


def register(bus):
    bus.subscribe("matching.weights_changed", forget_cached_weights)
    bus.subscribe("matching.model_trained", load_trained_model)
    bus.subscribe("matching.share_changed", load_trained_model)
    bus.subscribe("booking.requested", on_booking_created)
    bus.subscribe("booking.confirmed", on_booking_created)
    bus.subscribe("booking.completed", on_booking_completed)
    bus.subscribe("review.submitted", on_review_submitted)
    bus.subscribe("message.created", on_message_created)
