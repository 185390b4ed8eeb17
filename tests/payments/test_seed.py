"""`flask seed-demo` funds the demo wallets through the ledger and pays the demo sessions, idempotently."""
import sqlalchemy as sa

from app.extensions import db
from app.payments.models import Hold, LedgerTransaction
from app.seed import seed_demo
from tests.payments.conftest import balances


def test_seed_demo_funds_wallets_and_pays_sessions_once(app):
    users = seed_demo()
    seed_demo()
    sam, maria = users["sam.student@tutorhub.test"], users["maria.garcia@tutorhub.test"]
    funding = db.session.scalars(sa.select(LedgerTransaction).where(LedgerTransaction.kind == "seed_funding")).all()
    assert len(funding) == 3 and {t.memo for t in funding} == {"Demo top-up via PayPal"}
    assert balances(sam.id, "EUR") == {"wallet": 20000 - 4500}
    assert balances(maria.id, "EUR") == {"tutor_payable": 4500 - 675}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold).where(Hold.state == "settled")) == 2
