"""Earnings and finance reports: ledger entries read with one SQL query per report, aggregated with pandas.

Every figure is a sum of ledger entries (integer minor units, per currency), chosen by the kind of the
transaction they belong to (``TRANSACTION_ROLES``, the one mapping to extend when a new kind appears) and the
kind of the account they touch. A transaction counts in the period holding its ``created_at``; periods are days,
ISO weeks (Monday to Sunday) or calendar months in the report's time zone (UTC unless ``tz`` names another),
clipped to the requested ``[from, to)``.

Tutor earnings (``tutor_earnings``): the settlements (role ``session_settlement``) of the escrow holds whose payee
is the tutor, i.e. each of their sessions settled in the period (completed or student no-show once the dispute
window passed, cancelled, refused, a dispute's split; a session paid with a package credit has a hold too), and
the closing of the tutor's packages and plan months (``package_refund``: a cancelled package's unused credits back
to the student; ``package_lapse``: a plan month's unused credits paid to the tutor at its end):

* ``gross_minor``: what the student finally paid for the session, before commission = the settlement's credit to
  the tutor's ``tutor_payable`` plus its credit to ``platform_revenue``;
* ``commission_minor``: the settlement's credit to ``platform_revenue``;
* ``refunds_minor``: the settlement's credit back to the student's ``wallet`` (money returned from this tutor's
  sessions; not part of gross);
* ``net_minor``: the settlement's credit to the tutor's ``tutor_payable`` (= gross - commission);
* ``sessions``: session settlements that paid the tutor anything (gross > 0); full refunds and package closings
  are not counted.

Finance summary (``finance_summary``), for the whole platform:

* ``gmv_minor``: value of sessions booked and paid = credits to ``escrow`` by ``session_payment`` transactions
  (the price held from the student's wallet when a booking is requested, before any refund);
* ``revenue_minor``: commission = credits to ``platform_revenue`` by settlements;
* ``refunds_minor``: session refunds = credits to students' ``wallet`` by settlements;
* ``tutor_earnings_minor``: credits to tutors' ``tutor_payable`` by settlements;
* ``deposits_minor``: money entering wallets from outside = credits to ``wallet`` by ``deposit`` transactions
  (PayPal captures; the demo seed's funding counts too);
* ``deposit_refunds_minor``: money leaving wallets back to PayPal = debits of ``wallet`` by ``deposit_refund``
  transactions (refunds to the capture, refunds made at PayPal, chargebacks);
* ``payouts_minor``: tutor withdrawals sent to PayPal = debits of ``tutor_payable`` by ``payout`` transactions;
* ``payout_returns_minor``: failed payouts given back = credits to ``tutor_payable`` by ``payout_return``;
* ``escrow_held_minor``: the ``escrow`` account's balance at the period's end (all kinds), a level, not a flow:
  its total is the balance at ``to``. The opening balance is the account's balance minus its entries since
  ``from``, read in the same statement.

Totals are the per-currency sums of the period rows (``escrow_held_minor``: the last period's value), so a CSV
read back and summed gives the JSON totals. Transactions of a kind missing from ``TRANSACTION_ROLES`` count in
no figure except the escrow balance; they are logged.
"""
import io
import logging
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from app.common import time as clock
from app.extensions import db
from app.payments.models import Account, Hold, LedgerEntry, LedgerTransaction
from app.payments.package_models import PackagePurchase

log = logging.getLogger(__name__)

SESSION_PAYMENT = "session_payment"  # a student's wallet -> escrow for a session (a booking's hold)
SESSION_SETTLEMENT = "session_settlement"  # escrow -> student refund, tutor_payable, platform_revenue
DEPOSIT = "deposit"  # external (PayPal) -> a wallet
DEPOSIT_REFUND = "deposit_refund"  # a wallet -> external (PayPal)
PAYOUT = "payout"  # tutor_payable -> external (PayPal)
PAYOUT_RETURN = "payout_return"  # external -> tutor_payable (a payout PayPal could not deliver)

# How each ledger transaction kind counts in the reports: the one place to extend when a new kind is posted
# (packages, disputes, course orders). Kinds come from escrow.py (``<cause_type>_hold`` / ``_settlement``),
# deposits.py, services.fund_wallet and payouts.py.
TRANSACTION_ROLES = {
    "booking_hold": SESSION_PAYMENT,
    "booking_settlement": SESSION_SETTLEMENT,
    "deposit": DEPOSIT,
    "seed_funding": DEPOSIT,
    "deposit_refund": DEPOSIT_REFUND,
    "paypal_refund": DEPOSIT_REFUND,
    "capture_reversal": DEPOSIT_REFUND,
    "payout": PAYOUT,
    "payout_return": PAYOUT_RETURN,
    # Packages and plans (packages.py, subscriptions.py): bought = wallet -> escrow, counted in GMV when sold
    # (a session paid with a credit then settles its own hold, with no payment of its own); closed = escrow ->
    # wallet (a cancelled package's unused credits) or -> tutor_payable + platform_revenue (a lapsed plan month).
    "package_purchase": SESSION_PAYMENT,
    "package_refund": SESSION_SETTLEMENT,
    "package_lapse": SESSION_SETTLEMENT,
}
# Settlements that close a package rather than settle a session (not counted in ``sessions``).
PACKAGE_CLOSINGS = ("package_refund", "package_lapse")

# Finance summary flows: figure -> (transaction role, account kind, sign applied to the entries' sum).
SUMMARY_FLOWS = {
    "gmv_minor": (SESSION_PAYMENT, "escrow", 1),
    "revenue_minor": (SESSION_SETTLEMENT, "platform_revenue", 1),
    "refunds_minor": (SESSION_SETTLEMENT, "wallet", 1),
    "tutor_earnings_minor": (SESSION_SETTLEMENT, "tutor_payable", 1),
    "deposits_minor": (DEPOSIT, "wallet", 1),
    "deposit_refunds_minor": (DEPOSIT_REFUND, "wallet", -1),
    "payouts_minor": (PAYOUT, "tutor_payable", -1),
    "payout_returns_minor": (PAYOUT_RETURN, "tutor_payable", 1),
}
ESCROW_HELD = "escrow_held_minor"
SUMMARY_FIGURES = (*SUMMARY_FLOWS, ESCROW_HELD)
EARNINGS_FIGURES = ("gross_minor", "commission_minor", "refunds_minor", "net_minor", "sessions")

GROUPS = {"day": "D", "week": "W-SUN", "month": "M"}  # pandas period frequencies (weeks end on Sunday)
OPENING = "opening_balance"  # the marker row carrying escrow's balance at ``from``


def kinds_of(role):
    return sorted(kind for kind, kind_role in TRANSACTION_ROLES.items() if kind_role == role)


@dataclass
class Report:
    """A report's window and its rows: ``periods`` (period_start, period_end, currency, figures...) and
    ``totals`` (currency, figures...), as DataFrames of integers."""

    since: object
    until: object
    group: str
    tz: str
    figures: tuple
    periods: pd.DataFrame
    totals: pd.DataFrame

    def as_dict(self):
        return {"from": self.since, "to": self.until, "group": self.group, "tz": self.tz,
                "periods": _records(self.periods), "totals": _records(self.totals)}

    def to_csv(self):
        """The period rows as CSV (ISO 8601 instants with offset, integer minor units)."""
        frame = self.periods.copy()
        for column in ("period_start", "period_end"):
            frame[column] = [value.isoformat() for value in frame[column]]
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def filename(self, name):
        return f"{name}-{self.since:%Y%m%dT%H%M}-{self.until:%Y%m%dT%H%M}-{self.group}.csv"


def _records(frame):
    rows = []
    for row in frame.to_dict("records"):
        rows.append({key: (value.to_pydatetime() if isinstance(value, pd.Timestamp)
                           else value if key == "currency" else int(value))
                     for key, value in row.items()})
    return rows


def report_window(since=None, until=None, now=None):
    """The ``[from, to)`` of a report: ``to`` defaults to now, ``from`` to ``FINANCE_REPORT_DEFAULT_DAYS``
    before ``to``; both aware; ``to`` after ``from`` and at most ``FINANCE_REPORT_MAX_DAYS`` later (else 422)."""
    config = current_app.config
    return clock.report_period(since, until, config["FINANCE_REPORT_DEFAULT_DAYS"], config["FINANCE_REPORT_MAX_DAYS"],
                               now=now)


# --- the queries ---------------------------------------------------------------------------------------------

def _earnings_statement(tutor_id, since, until):
    """The entries of the settlements of the tutor's holds and of the closings of their packages in [since,
    until): one row per leg. Indexed by ``ix_payment_holds_payee_settlement`` (payee_id, settle_transaction_id),
    then primary keys and ``ix_ledger_entries_transaction_id``."""
    t, e, a, p = LedgerTransaction, LedgerEntry, Account, PackagePurchase
    settled = sa.union_all(
        sa.select(Hold.settle_transaction_id.label("id"))
        .where(Hold.payee_id == tutor_id, Hold.settle_transaction_id.isnot(None)),
        sa.select(p.close_transaction_id).where(p.tutor_id == tutor_id, p.close_transaction_id.isnot(None)),
    ).subquery()
    return (sa.select(t.id.label("transaction_id"), t.kind, t.created_at, a.kind.label("account_kind"),
                      e.currency, e.amount_minor)
            .select_from(settled)
            .join(t, t.id == settled.c.id)
            .join(e, e.transaction_id == t.id)
            .join(a, a.id == e.account_id)
            .where(t.kind.in_(kinds_of(SESSION_SETTLEMENT)), t.created_at >= since, t.created_at < until))


def _summary_statement(since, until, currency=None):
    """Every entry of [since, until) (``ix_ledger_transactions_created_at``, then entries by transaction), and,
    in the same statement, one row per escrow account with its balance at ``since`` (its cached balance minus
    its entries since then)."""
    t, e, a = LedgerTransaction, LedgerEntry, Account
    period = (sa.select(t.kind, t.created_at, a.kind.label("account_kind"), e.currency, e.amount_minor)
              .select_from(e).join(t, t.id == e.transaction_id).join(a, a.id == e.account_id)
              .where(t.created_at >= since, t.created_at < until))
    escrow = sa.orm.aliased(Account)
    since_then = (sa.select(sa.func.coalesce(sa.func.sum(e.amount_minor), 0))
                  .select_from(e).join(t, t.id == e.transaction_id)
                  .where(e.account_id == escrow.id, t.created_at >= since)
                  .scalar_subquery())
    opening = (sa.select(sa.literal(OPENING).label("kind"), sa.null().label("created_at"),
                         escrow.kind.label("account_kind"), escrow.currency,
                         (escrow.balance_minor - since_then).label("amount_minor"))
               .where(escrow.kind == "escrow", escrow.owner_id.is_(None)))
    if currency:
        period = period.where(e.currency == currency)
        opening = opening.where(escrow.currency == currency)
    return sa.union_all(period, opening)


def _frame(statement, columns):
    frame = pd.DataFrame(db.session.execute(statement).all(), columns=columns)
    frame["amount_minor"] = frame["amount_minor"].astype("int64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


# --- periods ------------------------------------------------------------------------------------------------

def _local(instant, tz):
    return pd.Timestamp(instant).tz_convert(tz).tz_localize(None)


def _aware(naive, tz):
    return naive.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def _periods(since, until, group, tz):
    """The periods of [since, until) in ``tz``: a frame of period, period_start, period_end (clipped)."""
    freq = GROUPS[group]
    first = _local(since, tz).to_period(freq)
    last = (_local(until, tz) - pd.Timedelta(microseconds=1)).to_period(freq)
    periods = pd.period_range(first, last, freq=freq)
    lower, upper = pd.Timestamp(since).tz_convert(tz), pd.Timestamp(until).tz_convert(tz)
    return pd.DataFrame({
        "period": periods,
        "period_start": [max(_aware(p.start_time, tz), lower) for p in periods],
        "period_end": [min(_aware((p + 1).start_time, tz), upper) for p in periods],
    })


def _grid(flows, figures, since, until, group, tz, currencies):
    """Sum ``figures`` of ``flows`` (rows with created_at, currency and the figures) per period and currency, every
    period of the window listed for every currency (zeros where nothing moved)."""
    periods = _periods(since, until, group, tz)
    if flows.empty:
        flows = flows.assign(period=pd.Series(dtype=periods["period"].dtype))
    else:
        flows = flows.assign(period=flows["created_at"].dt.tz_convert(tz).dt.tz_localize(None)
                             .dt.to_period(GROUPS[group]))
    sums = flows.groupby(["period", "currency"])[list(figures)].sum()
    index = pd.MultiIndex.from_product([periods["period"], sorted(currencies)], names=["period", "currency"])
    sums = sums.reindex(index, fill_value=0).astype("int64").reset_index()
    grid = periods.merge(sums, on="period").drop(columns="period")
    return grid.sort_values(["period_start", "currency"], kind="stable").reset_index(drop=True)


def _warn_unclassified(kinds):
    unknown = sorted(set(kinds) - set(TRANSACTION_ROLES) - {OPENING})
    if unknown:
        log.warning("Finance reports: transaction kinds without a role in TRANSACTION_ROLES: %s", unknown)


# --- the reports --------------------------------------------------------------------------------------------

def tutor_earnings(tutor_id, since=None, until=None, group="day", tz="UTC", now=None):
    """The tutor's earnings per period and currency (see the module docstring for each figure)."""
    since, until = report_window(since, until, now)
    legs = _frame(_earnings_statement(tutor_id, since, until),
                  ["transaction_id", "kind", "created_at", "account_kind", "currency", "amount_minor"])
    by_account = legs.pivot_table(index=["transaction_id", "kind", "created_at", "currency"], columns="account_kind",
                                  values="amount_minor", aggfunc="sum", fill_value=0)
    by_account = by_account.reindex(columns=["wallet", "tutor_payable", "platform_revenue"], fill_value=0)
    settlements = by_account.reset_index()
    gross = settlements["tutor_payable"] + settlements["platform_revenue"]
    flows = pd.DataFrame({
        "created_at": settlements["created_at"], "currency": settlements["currency"],
        "gross_minor": gross, "commission_minor": settlements["platform_revenue"],
        "refunds_minor": settlements["wallet"], "net_minor": settlements["tutor_payable"],
        "sessions": ((gross > 0) & ~settlements["kind"].isin(PACKAGE_CLOSINGS)).astype("int64"),
    })
    periods = _grid(flows, EARNINGS_FIGURES, since, until, group, tz, set(flows["currency"]))
    totals = periods.groupby("currency", as_index=False)[list(EARNINGS_FIGURES)].sum()
    return Report(since, until, group, tz, EARNINGS_FIGURES, periods, totals)


def finance_summary(since=None, until=None, group="day", tz="UTC", currency=None, now=None):
    """The platform's money per period and currency (see the module docstring for each figure)."""
    since, until = report_window(since, until, now)
    entries = _frame(_summary_statement(since, until, currency),
                     ["kind", "created_at", "account_kind", "currency", "amount_minor"])
    _warn_unclassified(entries["kind"].unique())
    opening_rows = entries["kind"] == OPENING
    opening = entries[opening_rows].groupby("currency")["amount_minor"].sum()
    entries = entries[~opening_rows]
    role = entries["kind"].map(TRANSACTION_ROLES)
    flows = pd.DataFrame({"created_at": entries["created_at"], "currency": entries["currency"]})
    for figure, (figure_role, account_kind, sign) in SUMMARY_FLOWS.items():
        chosen = (role == figure_role) & (entries["account_kind"] == account_kind)
        flows[figure] = entries["amount_minor"].where(chosen, 0) * sign
    flows[ESCROW_HELD] = entries["amount_minor"].where(entries["account_kind"] == "escrow", 0)
    currencies = set(flows["currency"]) | set(opening[opening != 0].index)
    periods = _grid(flows, SUMMARY_FIGURES, since, until, group, tz, currencies)
    # escrow: the period's net movement -> the balance at its end
    periods[ESCROW_HELD] = (periods.groupby("currency")[ESCROW_HELD].cumsum()
                            + periods["currency"].map(opening).fillna(0).astype("int64"))
    totals = periods.groupby("currency", as_index=False).agg(
        {**{figure: "sum" for figure in SUMMARY_FLOWS}, ESCROW_HELD: "last"})
    return Report(since, until, group, tz, SUMMARY_FIGURES, periods, totals)
