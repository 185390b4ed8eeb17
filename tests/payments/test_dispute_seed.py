"""`flask seed-demo` leaves one open dispute (with evidence text, the tutor's answer and the pair's chat), once."""
import sqlalchemy as sa

from app.extensions import db
from app.payments.dispute_models import DisputeEvidence, PaymentDispute
from app.payments.models import Hold
from app.seed import seed_demo
from tests.payments.conftest import balances


def test_seed_demo_opens_one_dispute_once(app, client):
    users = seed_demo()
    seed_demo()
    sam, james = users["sam.student@tutorhub.test"], users["james.okafor@tutorhub.test"]
    disputes = db.session.scalars(sa.select(PaymentDispute)).all()
    assert len(disputes) == 1
    dispute = disputes[0]
    assert (dispute.state, dispute.student_id, dispute.tutor_id) == ("open", sam.id, james.id)
    assert (dispute.amount_minor, dispute.currency) == (6000, "USD") and len(dispute.responses) == 1
    evidence = db.session.scalars(sa.select(DisputeEvidence)).all()
    assert [e.filename for e in evidence] == ["session-log.txt"] and evidence[0].content_type == "text/plain"
    hold = db.session.get(Hold, dispute.hold_id)
    assert (hold.state, hold.release_after) == ("held", None)
    assert balances(sam.id) == {"wallet": 30000 - 6000 - 10800}  # the disputed session, the package
    from app.messaging import services as messaging

    chat = messaging.pair_history(sam.id, james.id)
    assert [m["body"] for m in chat["messages"]][-1].startswith("We only had 25 minutes")
