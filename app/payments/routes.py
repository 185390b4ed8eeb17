from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required, confirmed_email_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.payments import services
from app.payments.schemas import EntrySchema, TransactionQuerySchema, WalletSchema

blp = Blueprint("payments", __name__, url_prefix="/api/v1",
                description="Wallet balances, escrow holds and the ledger entries behind them")

WALLET_EXAMPLE = {"balances": [{"currency": "USD", "available_minor": 12000, "held_minor": 3000,
                                "credits_minor": 0, "payable_minor": 0}],
                  "pending_holds": [{"id": 4, "cause_type": "booking", "cause_id": 17, "amount_minor": 3000,
                                     "currency": "USD", "release_after": None,
                                     "created_at": "2026-12-01T10:00:00+00:00"}]}


@blp.route("/wallet")
@auth_required()
@confirmed_email_required
@blp.doc(summary="My wallet", description="Balances per currency: `available_minor` (the wallet), `held_minor` "
         "(in escrow for my sessions not yet settled), `credits_minor` (in escrow for my unused package credits) and "
         "`payable_minor` (a tutor's earnings not yet paid out), "
         "plus the pending holds. Amounts are integer minor units. 403 until the email is confirmed.")
@blp.response(200, WalletSchema, example=WALLET_EXAMPLE)
@blp.alt_response(403, description="Email not confirmed")
def wallet():
    return services.wallet_summary(current_user)


@blp.route("/wallet/transactions")
@auth_required()
@confirmed_email_required
@blp.doc(summary="My ledger entries", description="Every entry on my accounts (wallet, tutor payable), newest "
         "first, with the transaction's kind, cause and memo; filter by `kind` and a `[since, until)` period.")
@blp.arguments(TransactionQuerySchema, location="query")
@blp.response(200, EntrySchema(many=True))
@blp.alt_response(403, description="Email not confirmed")
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def wallet_transactions(query, pagination_parameters):
    return paginate(services.wallet_transactions(current_user, **query), pagination_parameters)
