"""The ledger's rules: balanced transactions, no overdraft, immutable entries, checked inputs."""
import pytest
import sqlalchemy as sa

from app.common.errors import Invalid
from app.common.transactions import unit_of_work
from app.payments import services as payments
from app.payments.models import Account, LedgerEntry, LedgerTransaction
from tests.factories import UserFactory, fund_wallet


def _wallet(user, currency="USD"):
    with unit_of_work():
        return payments.account_for(user.id, "wallet", currency).id


def _balance(db, account_id):
    return db.session.scalar(sa.select(Account.balance_minor).where(Account.id == account_id))


def test_funding_posts_one_balanced_transaction(db):
    user = UserFactory()
    fund_wallet(user, 5000, memo="demo")
    transaction = db.session.scalar(sa.select(LedgerTransaction))
    assert (transaction.kind, transaction.cause_type, transaction.memo) == ("seed_funding", "seed", "demo")
    amounts = sorted(entry.amount_minor for entry in transaction.entries)
    assert amounts == [-5000, 5000]
    assert _balance(db, _wallet(user)) == 5000
    with unit_of_work():
        external = payments.platform_account("external:paypal", "USD")
    assert _balance(db, external.id) == -5000
    assert payments.verify() == []


def test_account_for_returns_one_account_per_owner_kind_currency(db):
    user = UserFactory()
    with unit_of_work():
        first = payments.account_for(user.id, "wallet", "USD").id
        again = payments.account_for(user.id, "wallet", "USD").id
        euro = payments.account_for(user.id, "wallet", "EUR").id
        payable = payments.account_for(user.id, "tutor_payable", "USD").id
    assert first == again and len({first, euro, payable}) == 3
    with pytest.raises(ValueError):
        payments.account_for(user.id, "escrow", "USD")
    with pytest.raises(ValueError):
        payments.platform_account("wallet", "USD")


def test_a_debit_beyond_the_balance_is_402_with_the_shortfall_and_writes_nothing(db):
    payer, payee = UserFactory(), UserFactory()
    fund_wallet(payer, 1000)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry))
    with pytest.raises(payments.InsufficientFunds) as caught, unit_of_work():
        source = payments.account_for(payer.id, "wallet", "USD")
        target = payments.account_for(payee.id, "wallet", "USD")
        payments.post("transfer", [(source, -1500), (target, 1500)], "USD", "test")
    assert caught.value.code == 402 and caught.value.shortfall == 500
    assert caught.value.errors == {"shortfall": {"amount_minor": 500, "currency": "USD", "balance_minor": 1000}}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == before
    assert _balance(db, _wallet(payer)) == 1000


@pytest.mark.parametrize("amount", [1.5, 10.0, True, "100", 0, None])
def test_amounts_are_non_zero_integers(db, amount):
    payer, payee = UserFactory(), UserFactory()
    fund_wallet(payer, 1000)
    with pytest.raises(Invalid), unit_of_work():
        source = payments.account_for(payer.id, "wallet", "USD")
        target = payments.account_for(payee.id, "wallet", "USD")
        payments.post("transfer", [(source, -amount if isinstance(amount, int) else amount), (target, amount)],
                      "USD", "test")
    assert payments.verify() == []


def test_unknown_currency_and_mixed_currencies_are_refused(db):
    user = UserFactory()
    with pytest.raises(Invalid), unit_of_work():
        payments.account_for(user.id, "wallet", "XYZ")
    with pytest.raises(Invalid), unit_of_work():
        payments.fund_wallet(user.id, 100, "usd", "seed")
    with pytest.raises(Invalid), unit_of_work():
        euro = payments.account_for(user.id, "wallet", "EUR")
        payments.post("transfer", [(payments.platform_account("external:paypal", "USD"), -100), (euro, 100)],
                      "USD", "test")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0


def test_unbalanced_legs_are_a_programming_error(db):
    user = UserFactory()
    with pytest.raises(ValueError, match="unbalanced"), unit_of_work():
        wallet = payments.account_for(user.id, "wallet", "USD")
        payments.post("transfer", [(payments.platform_account("external:paypal", "USD"), -100), (wallet, 90)],
                      "USD", "test")


def test_a_unique_key_posts_once(db):
    user = UserFactory()
    with unit_of_work():
        first = payments.fund_wallet(user.id, 700, "USD", "seed", unique_key="seed:1").id
    with unit_of_work():
        second = payments.fund_wallet(user.id, 700, "USD", "seed", unique_key="seed:1").id
    assert first == second
    assert _balance(db, _wallet(user)) == 700


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_transaction_at_commit(db):
    user = UserFactory()
    fund_wallet(user, 100)
    wallet_id = _wallet(user)
    with db.engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match="does not balance"):
        with connection.begin():
            tx = connection.execute(sa.text("INSERT INTO ledger_transactions (kind, cause_type, created_at) "
                                            "VALUES ('forged', 'test', now()) RETURNING id")).scalar()
            connection.execute(sa.text("INSERT INTO ledger_entries (transaction_id, account_id, currency, "
                                       "amount_minor) VALUES (:tx, :account, 'USD', 50)"),
                               {"tx": tx, "account": wallet_id})
    assert payments.verify() == []


@pytest.mark.postgres
def test_postgres_entries_and_transactions_are_append_only(db):
    user = UserFactory()
    fund_wallet(user, 100)
    for statement in ("UPDATE ledger_entries SET amount_minor = amount_minor * 2",
                      "DELETE FROM ledger_entries", "UPDATE ledger_transactions SET memo = 'x'",
                      "DELETE FROM ledger_transactions"):
        with db.engine.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with connection.begin():
                connection.execute(sa.text(statement))


@pytest.mark.postgres
def test_postgres_check_constraint_keeps_wallets_at_or_above_zero(db):
    user = UserFactory()
    fund_wallet(user, 100)
    with db.engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match="balance_not_negative"):
        with connection.begin():
            connection.execute(sa.text("UPDATE accounts SET balance_minor = -1 WHERE kind = 'wallet'"))
