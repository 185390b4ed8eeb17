"""The demo dispute (`flask seed-demo`): Sam disputes James's session (with a text file as evidence), James
answers, and the two exchanged a few messages: one open dispute in the portal's queue. Created once."""
import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.messaging import services as messaging
from app.payments import services
from app.payments.dispute_models import PaymentDispute

DEMO_STUDENT, DEMO_TUTOR = "sam.student@tutorhub.test", "james.okafor@tutorhub.test"
DEMO_DETAILS = ("The session was booked for an hour but James joined 20 minutes late and ended it after 25 minutes. "
                "We did not get to recursion at all.")
DEMO_EVIDENCE = (b"Session log kept by Sam Patel\n"
                 b"17:00  waiting in the video room\n"
                 b"17:20  James joins, apologises (previous call ran over)\n"
                 b"17:45  James ends the call: 'we will continue next time'\n")
DEMO_RESPONSE = ("I was 20 minutes late, yes, and offered to stay longer, but Sam had to leave at 17:45. I am happy "
                 "to refund the missed part.")
DEMO_CHAT = [
    (DEMO_STUDENT, "Hi James, are we still on for 17:00?"),
    (DEMO_TUTOR, "Sorry Sam, my previous session is running over, I'll be there in 20 minutes."),
    (DEMO_STUDENT, "We only had 25 minutes in the end. Can I get part of the payment back?"),
]


def seed_open_dispute(users_by_email, booking_id):
    """Open the demo dispute of ``booking_id`` (the session ``app.scheduling.dispute_seed`` made), once."""
    student, tutor = users_by_email.get(DEMO_STUDENT), users_by_email.get(DEMO_TUTOR)
    if booking_id is None or student is None or tutor is None:
        return None
    existing = db.session.scalar(sa.select(PaymentDispute).where(PaymentDispute.cause_type == "booking",
                                                                 PaymentDispute.cause_id == booking_id))
    if existing is not None:
        return existing
    conversation, _created = messaging.get_or_create_pair(student.id, tutor.id)
    for index, (email, body) in enumerate(DEMO_CHAT):
        messaging.send_message(users_by_email[email].id, conversation.id, body, client_id=f"demo-dispute-{index}")
    evidence = FileStorage(stream=io.BytesIO(DEMO_EVIDENCE), filename="session-log.txt")
    dispute = services.open_dispute(student, booking_id, "session_cut_short", DEMO_DETAILS, [evidence])
    services.respond(tutor, dispute.id, DEMO_RESPONSE)
    return dispute
