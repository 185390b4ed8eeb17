"""Packages and monthly plans: tutors' offers, students' purchases (credits) and subscriptions."""
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required, confirmed_email_required
from app.common.idempotency import IDEMPOTENCY_KEY_PARAMETER, current_key, idempotent
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.payments import packages, subscriptions
from app.payments.package_schemas import (
    HoldingsSchema,
    OfferInSchema,
    OfferPatchSchema,
    OfferQuerySchema,
    OfferSchema,
    PurchaseQuerySchema,
    PurchaseSchema,
    SubscriptionSchema,
)

blp = Blueprint("packages", __name__, url_prefix="/api/v1",
                description="Packages of sessions and monthly plans: offers, credits, subscriptions")

PACKAGE_EXAMPLE = {"kind": "package", "title": "Five calculus hours", "sessions": 5, "duration": 60,
                   "discount_percent": 10}
PLAN_EXAMPLE = {"kind": "plan", "title": "Weekly conversation", "sessions": 4, "duration": 30,
                "price_minor": 8000, "currency": "EUR"}


@blp.route("/tutors/me/packages")
class MyOffers(MethodView):
    @auth_required("tutor")
    @blp.doc(operationId="listMyPackageOffers", summary="My packages and plans",
             description="Every offer of mine, active or not, with today's price.")
    @blp.response(200, OfferSchema(many=True))
    def get(self):
        return packages.my_offers(current_user)

    @auth_required("tutor")
    @blp.doc(operationId="createPackageOffer", summary="Offer a package or a monthly plan", description=(
        "A `package`: `sessions` of `duration` minutes priced from my hourly rate less `discount_percent` (0-90). "
        "A `plan`: `sessions` a month for `price_minor` (minor units of my currency, at least one per session). "
        "`duration` is one of PACKAGE_SESSION_LENGTHS. 409 without a tutor profile (a package needs a rate) or "
        "past 20 active offers."))
    @blp.arguments(OfferInSchema, examples={"package": {"value": PACKAGE_EXAMPLE}, "plan": {"value": PLAN_EXAMPLE}})
    @blp.response(201, OfferSchema)
    @blp.alt_response(409, description="No tutor profile or rate, or too many active offers")
    @unit_of_work()
    def post(self, data):
        return packages.create_offer(current_user, data)


@blp.route("/tutors/me/packages/<int:offer_id>")
class MyOffer(MethodView):
    @auth_required("tutor")
    @blp.doc(operationId="updatePackageOffer", summary="Change one of my offers", description=(
        "Only the fields sent change; `active: false` stops offering it. What students already bought keeps its "
        "terms. 404 for another tutor's offer."))
    @blp.arguments(OfferPatchSchema, examples={"deactivate": {"value": {"active": False}}})
    @blp.response(200, OfferSchema)
    @blp.alt_response(409, description="No tutor profile or rate")
    @unit_of_work()
    def patch(self, data, offer_id):
        return packages.update_offer(current_user, offer_id, data)

    @auth_required("tutor")
    @blp.doc(operationId="deletePackageOffer", summary="Withdraw one of my offers", description=(
        "Deleted when nobody bought it; otherwise deactivated (its purchases and subscriptions keep it). 404 for "
        "another tutor's offer."))
    @blp.response(204)
    @unit_of_work()
    def delete(self, offer_id):
        packages.delete_offer(current_user, offer_id)


@blp.route("/tutors/<int:tutor_id>/packages")
@blp.doc(summary="A tutor's packages and plans", security=[], description=(
    "Public: the tutor's active offers with today's price; `kind` filters. 404 for an unknown tutor."))
@blp.arguments(OfferQuerySchema, location="query")
@blp.response(200, OfferSchema(many=True))
def list_tutor_offers(query, tutor_id):
    return packages.public_offers(tutor_id, query.get("kind"))


@blp.route("/packages/<int:offer_id>/purchases", methods=["POST"])
@auth_required()
@confirmed_email_required
@idempotent()
@blp.doc(operationId="buyPackage", summary="Buy a package", parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
    "Its price (today's) moves from my wallet into escrow; its sessions become credits for `POST /bookings` "
    "(`use_credit`). 402 with the shortfall when the wallet holds less; 404 for an unknown or withdrawn package "
    "(or a plan); 422 for my own; 409 while the tutor has no rate."))
@blp.response(201, PurchaseSchema)
@blp.alt_response(402, description="Insufficient funds: `errors.shortfall` says how much is missing")
@blp.alt_response(403, description="Email not confirmed")
@blp.alt_response(409, description="The tutor has no rate, or the Idempotency-Key is in use")
@blp.alt_response(422, description="My own package")
@unit_of_work()
def buy_package(offer_id):
    return packages.buy_package(current_user, offer_id, current_key())


@blp.route("/purchases/<int:purchase_id>/cancel", methods=["POST"])
@auth_required()
@confirmed_email_required
@idempotent()
@blp.doc(operationId="cancelPackagePurchase", summary="Cancel a package", parameters=[IDEMPOTENCY_KEY_PARAMETER],
         description="Unused credits are refunded pro rata to my wallet; credits held by pending bookings stay "
                     "with them. 409 for a plan's month (cancel the subscription) or a purchase already closed; "
                     "404 for another user's.")
@blp.response(200, PurchaseSchema)
@blp.alt_response(403, description="Email not confirmed")
@blp.alt_response(409, description="Not an active package, or the Idempotency-Key is in use")
@unit_of_work()
def cancel_purchase(purchase_id):
    return packages.cancel_purchase(current_user, purchase_id)


@blp.route("/plans/<int:offer_id>/subscriptions", methods=["POST"])
@auth_required()
@confirmed_email_required
@idempotent()
@blp.doc(operationId="subscribeToPlan", summary="Subscribe to a monthly plan", parameters=[IDEMPOTENCY_KEY_PARAMETER],
         description="The first month is charged now (wallet → escrow) and its sessions become credits until the "
                     "period ends; a job renews it monthly from the wallet. 402 when short; 404 for an unknown or "
                     "withdrawn plan (or a package); 409 when already subscribed; 422 for my own.")
@blp.response(201, SubscriptionSchema)
@blp.alt_response(402, description="Insufficient funds: `errors.shortfall` says how much is missing")
@blp.alt_response(403, description="Email not confirmed")
@blp.alt_response(409, description="Already subscribed, or the Idempotency-Key is in use")
@blp.alt_response(422, description="My own plan")
@unit_of_work()
def subscribe(offer_id):
    return subscriptions.subscribe(current_user, offer_id, current_key())


@blp.route("/subscriptions/<int:subscription_id>/cancel", methods=["POST"])
@auth_required()
@blp.doc(operationId="cancelSubscription", summary="Cancel a subscription", description=(
    "Ends at the current period's end (its credits stay usable until then); a paused one ends now. 409 when "
    "already cancelled; 404 for another user's."))
@blp.response(200, SubscriptionSchema)
@blp.alt_response(409, description="Already cancelled")
@unit_of_work()
def cancel_subscription(subscription_id):
    return subscriptions.cancel(current_user, subscription_id)


@blp.route("/subscriptions/<int:subscription_id>/resume", methods=["POST"])
@auth_required()
@confirmed_email_required
@idempotent()
@blp.doc(operationId="resumeSubscription", summary="Resume a paused subscription",
         parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
             "A new month starts now and is charged now. 402 while the wallet is still short; 409 unless paused; "
             "404 for another user's."))
@blp.response(200, SubscriptionSchema)
@blp.alt_response(402, description="Insufficient funds: `errors.shortfall` says how much is missing")
@blp.alt_response(403, description="Email not confirmed")
@blp.alt_response(409, description="Not paused, or the Idempotency-Key is in use")
@unit_of_work()
def resume_subscription(subscription_id):
    return subscriptions.resume(current_user, subscription_id, current_key())


@blp.route("/me/packages")
@auth_required()
@blp.doc(operationId="getMyPackages", summary="My credits and subscriptions", description=(
    "My active purchases (credits left, the length they book, their money in escrow) and my active or paused "
    "subscriptions."))
@blp.response(200, HoldingsSchema)
def my_packages():
    return packages.my_holdings(current_user)


@blp.route("/me/packages/purchases")
@auth_required()
@blp.doc(operationId="listMyPackagePurchases", summary="My package purchases",
         description="Every purchase (packages and plan months), newest first; `state` filters.")
@blp.arguments(PurchaseQuerySchema, location="query")
@blp.response(200, PurchaseSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def my_purchases(query, pagination_parameters):
    return paginate(packages.purchases_query(current_user, query.get("state")), pagination_parameters)
