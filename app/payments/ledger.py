"""The double-entry ledger: accounts, posting balanced transactions, balances.

``post`` is the only writer of entries and balances. Amounts are signed integers in minor units (positive
credits an account, negative debits it); a transaction's legs sum to zero in its one currency. Balances are
cached on the account and moved by a conditional ``UPDATE`` in the same database transaction as the entries,
so a debit that would take a non-``external:*`` account below zero matches no row and is refused
(``InsufficientFunds``, 402) while concurrent debits of one wallet queue on its row lock: a wallet is never
overdrawn. The ``CHECK (balance_minor >= 0)`` constraint is the backstop. Accounts are updated in id order, so
two postings touching the same accounts never deadlock.
"""
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.common.errors import DomainError, Invalid
from app.common.money import CURRENCY_EXPONENTS, format_money
from app.extensions import db
from app.payments.models import PLATFORM_KINDS, USER_KINDS, Account, LedgerEntry, LedgerTransaction

MAX_AMOUNT = 10**12  # minor units; far above any real movement, far below BIGINT


class InsufficientFunds(DomainError):
    """402: the debited account holds less than the amount; ``errors.shortfall`` says how much is missing."""

    code = 402

    def __init__(self, currency, shortfall, balance):
        super().__init__(
            f"Insufficient funds: {format_money(shortfall, currency)} short.",
            errors={"shortfall": {"amount_minor": shortfall, "currency": currency, "balance_minor": balance}},
        )
        self.currency, self.shortfall, self.balance = currency, shortfall, balance


def check_currency(currency):
    """The ISO 4217 code, or 422."""
    if currency not in CURRENCY_EXPONENTS:
        raise Invalid(f"Unsupported currency {currency!r}.",
                      errors={"currency": [f"Use one of {', '.join(sorted(CURRENCY_EXPONENTS))}."]})
    return currency


def check_amount(amount, field="amount_minor", allow_negative=False):
    """A whole number of minor units (never a float or a bool), not zero, positive unless allowed; else 422."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise Invalid("Amounts are whole numbers of minor units.", errors={field: ["Must be an integer."]})
    if amount == 0 or (amount < 0 and not allow_negative) or abs(amount) > MAX_AMOUNT:
        raise Invalid("Amount out of range.", errors={field: [f"Must be between 1 and {MAX_AMOUNT}."]})
    return amount


def _insert(values, where):
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    elements = ["owner_id", "kind", "currency"] if values.get("owner_id") is not None else ["kind", "currency"]
    return dialect.insert(Account).values(**values).on_conflict_do_nothing(index_elements=elements,
                                                                            index_where=where)


def _get_or_create(owner_id, kind, currency):
    owner = Account.owner_id.is_(None) if owner_id is None else Account.owner_id == owner_id
    stmt = sa.select(Account).where(owner, Account.kind == kind, Account.currency == currency)
    account = db.session.scalar(stmt)
    if account is None:
        where = Account.owner_id.is_(None) if owner_id is None else Account.owner_id.isnot(None)
        db.session.execute(_insert({"owner_id": owner_id, "kind": kind, "currency": currency, "balance_minor": 0},
                                   where))
        account = db.session.scalar(stmt)
    return account


def account_for(user_id, kind, currency):
    """The user's account of ``kind`` (``wallet`` or ``tutor_payable``) in ``currency``, created empty when new
    (a concurrent creation of the same account is absorbed: both callers get the one row)."""
    if kind not in USER_KINDS:
        raise ValueError(f"{kind!r} is not a user account kind; use one of {USER_KINDS}")
    return _get_or_create(user_id, kind, check_currency(currency))


def platform_account(kind, currency):
    """The platform's account of ``kind`` (``escrow``, ``platform_revenue``, ``external:paypal``) in ``currency``."""
    if kind not in PLATFORM_KINDS:
        raise ValueError(f"{kind!r} is not a platform account kind; use one of {PLATFORM_KINDS}")
    return _get_or_create(None, kind, check_currency(currency))


def balance(account):
    """The account's balance in minor units, as committed plus this transaction's postings."""
    return db.session.scalar(sa.select(Account.balance_minor).where(Account.id == account.id))


def _net_by_account(legs, currency):
    """{account: net amount} of the legs, checked: integers, one currency, summing to zero."""
    if len(legs) < 2:
        raise ValueError("a transaction needs at least two legs")
    net = defaultdict(int)
    accounts = {}
    for account, amount in legs:
        check_amount(amount, allow_negative=True)
        if account.currency != currency:
            raise Invalid(f"Account {account.id} holds {account.currency}, not {currency}.",
                          errors={"currency": [f"Must be {account.currency}."]})
        net[account.id] += amount
        accounts[account.id] = account
    if sum(net.values()) != 0:
        raise ValueError(f"unbalanced transaction: legs sum to {sum(net.values())} {currency}")
    return {accounts[account_id]: amount for account_id, amount in net.items()}


def _move(account, amount, currency):
    """Add ``amount`` to the cached balance; a debit below zero (except ``external:*``) is InsufficientFunds."""
    new_balance = db.session.execute(
        sa.update(Account)
        .where(Account.id == account.id,
               sa.or_(Account.balance_minor + amount >= 0, Account.kind.like("external:%")))
        .values(balance_minor=Account.balance_minor + amount)
        .returning(Account.balance_minor)
        .execution_options(synchronize_session=False)
    ).scalar()
    if new_balance is None:
        current = balance(account)
        raise InsufficientFunds(currency, -(current + amount), current)
    set_committed_value(account, "balance_minor", new_balance)  # the row's value; nothing left to flush


def find(unique_key):
    """The transaction posted under ``unique_key``, or None."""
    return db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.unique_key == unique_key))


def post(kind, legs, currency, cause_type, cause_id=None, idempotency_key=None, memo=None, unique_key=None):
    """Post one balanced transaction and return it (flushed, never committed: the caller's unit of work commits).

    ``legs`` is ``[(account, amount_minor), ...]`` with accounts from ``account_for``/``platform_account``,
    all in ``currency``; amounts are non-zero integers (credit positive, debit negative) summing to zero.
    ``cause_type``/``cause_id`` name what caused the movement (``booking`` 12, ``deposit`` 3, ``seed`` ...);
    ``idempotency_key`` is the client's Idempotency-Key header when a request carried one; ``memo`` is free text
    shown in wallet histories. ``unique_key`` makes the posting exactly-once: when a transaction with that key
    exists it is returned unchanged (a concurrent duplicate fails at the unique index: 409 and roll back).

    Raises ``InsufficientFunds`` (402) when a debit would take a non-external account below zero (nothing is
    written: the caller's unit rolls back), ``Invalid`` (422) for an unknown currency, a float or zero amount,
    or an account in another currency, and ``ValueError`` for an unbalanced set of legs (a programming error).
    """
    check_currency(currency)
    if unique_key is not None:
        existing = find(unique_key)
        if existing is not None:
            return existing
    net = _net_by_account(legs, currency)
    transaction = LedgerTransaction(kind=kind, cause_type=cause_type, cause_id=cause_id, unique_key=unique_key,
                                    idempotency_key=idempotency_key, memo=memo[:500] if memo else memo)
    db.session.add(transaction)
    for account in sorted(net, key=lambda a: a.id):  # one lock order for every posting: no deadlocks
        if net[account]:
            _move(account, net[account], currency)
    db.session.flush()
    for account, amount in legs:
        db.session.add(LedgerEntry(transaction_id=transaction.id, account_id=account.id, currency=currency,
                                   amount_minor=amount))
    db.session.flush()
    return transaction


def entries_query(account_ids, kind=None, since=None, until=None):
    """Entries of the given accounts with their transactions, newest first, optionally filtered by the
    transaction's ``kind`` and a [since, until) period (a select for ``paginate``)."""
    stmt = (sa.select(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .options(contains_eager(LedgerEntry.transaction), joinedload(LedgerEntry.account))
            .where(LedgerEntry.account_id.in_(account_ids))
            .order_by(LedgerEntry.id.desc()))
    if kind:
        stmt = stmt.where(LedgerTransaction.kind == kind)
    if since is not None:
        stmt = stmt.where(LedgerTransaction.created_at >= since)
    if until is not None:
        stmt = stmt.where(LedgerTransaction.created_at < until)
    return stmt


def verify():
    """Problems in the ledger as readable strings (empty when sound): transactions not summing to zero per
    currency, cached balances differing from their entries, non-external accounts below zero."""
    problems = []
    unbalanced = db.session.execute(
        sa.select(LedgerEntry.transaction_id, LedgerEntry.currency, sa.func.sum(LedgerEntry.amount_minor))
        .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(sa.func.sum(LedgerEntry.amount_minor) != 0)
    ).all()
    problems += [f"transaction {t} sums to {s} {c}" for t, c, s in unbalanced]
    sums = sa.select(LedgerEntry.account_id, sa.func.sum(LedgerEntry.amount_minor).label("total")) \
        .group_by(LedgerEntry.account_id).subquery()
    drifted = db.session.execute(
        sa.select(Account.id, Account.balance_minor, sa.func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == Account.id)
        .where(Account.balance_minor != sa.func.coalesce(sums.c.total, 0))
    ).all()
    problems += [f"account {a} caches {b} but its entries sum to {s}" for a, b, s in drifted]
    negative = db.session.execute(
        sa.select(Account.id, Account.balance_minor)
        .where(Account.balance_minor < 0, sa.not_(Account.kind.like("external:%")))
    ).all()
    problems += [f"account {a} is negative: {b}" for a, b in negative]
    return problems
