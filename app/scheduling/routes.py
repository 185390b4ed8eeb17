from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required, confirmed_email_required
from app.common.idempotency import IDEMPOTENCY_KEY_PARAMETER, current_key, idempotent
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.scheduling import services
from app.scheduling.schemas import (
    AdminBookingSchema,
    AdminStateSchema,
    AvailabilitySchema,
    BookingCreateSchema,
    BookingQuerySchema,
    BookingSchema,
    BusyBlockSchema,
    BusyCreateSchema,
    BusyQuerySchema,
    CancelSchema,
    OutOfOfficeCreateSchema,
    OutOfOfficeSchema,
    RejectSchema,
    RescheduleSchema,
    SlotListSchema,
    SlotQuerySchema,
)

blp = Blueprint("scheduling", __name__, url_prefix="/api/v1",
                description="Tutor availability, free slots, bookings and the session lifecycle")

AVAILABILITY_EXAMPLE = {
    "rules": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "14:00", "end": "18:00"}],
    "overrides": [{"date": "2026-12-24"}, {"date": "2026-12-28", "start": "10:00", "end": "12:00"}],
    "settings": {"timezone": "America/New_York", "session_lengths": [30, 60, 90], "buffer_after_minutes": 10,
                 "min_notice_minutes": 720, "max_days_ahead": 60, "instant_booking": False},
}
BOOKING_EXAMPLE = {"tutor_id": 2, "start": "2026-12-01T14:00:00Z", "duration": 60, "subject": "calculus",
                   "note": "Integration by parts"}
START_EXAMPLE = {"example": {"value": {"start": "2026-12-02T15:00:00+00:00"}}}


@blp.route("/tutors/me/availability")
class MyAvailability(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="My availability", description="Weekly rules (local wall time in `timezone`), date "
             "overrides and booking settings.")
    @blp.response(200, AvailabilitySchema)
    def get(self):
        return services.get_availability(current_user)

    @auth_required("tutor")
    @blp.doc(summary="Replace my availability", description="`rules` is required and replaces the "
             "weekly rules (`{\"rules\": []}` clears the week); a missing body, or one without `rules`, is 422 and "
             "changes nothing. `overrides`, when sent, replaces the date overrides (`[]` clears them); omitted, "
             "they stay. `settings` is optional: only the fields sent change. Watchers of `tutor:<id>` "
             "get `availability:changed`.")
    @blp.arguments(AvailabilitySchema, examples={"example": {"value": AVAILABILITY_EXAMPLE}})
    @blp.response(200, AvailabilitySchema)
    @unit_of_work()
    def put(self, document):
        return services.put_availability(current_user, document)


@blp.route("/tutors/me/busy")
class MyBusyTime(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="My busy time", description="Every busy block (one-off, out-of-office, synced from a "
             "calendar) overlapping [start, end) when given, by start. Slots, search and matching avoid them all.")
    @blp.arguments(BusyQuerySchema, location="query")
    @blp.response(200, BusyBlockSchema(many=True))
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, query, pagination_parameters):
        return paginate(services.list_busy(current_user, query.get("start"), query.get("end")), pagination_parameters)

    @auth_required("tutor")
    @blp.doc(summary="Block time", description="A one-off busy block (≤ 31 days, ending in the future): no slots "
             "in it (buffers apply), so no new bookings. Existing bookings stay. Watchers of `tutor:<id>` get "
             "`availability:changed`.")
    @blp.arguments(BusyCreateSchema, examples={"example": {"value": {
        "start": "2026-12-15T13:00:00Z", "end": "2026-12-15T15:00:00Z", "note": "Dentist"}}})
    @blp.response(201, BusyBlockSchema)
    @unit_of_work()
    def post(self, data):
        return services.add_busy(current_user, data["start"], data["end"], data["note"])


@blp.route("/tutors/me/busy/<int:block_id>", methods=["DELETE"])
@auth_required("tutor")
@blp.doc(summary="Remove busy time", description="One of your one-off blocks or out-of-office periods; another "
         "user's is 404, a block synced from a calendar 409 (change it in that calendar).")
@blp.response(204)
@blp.alt_response(409, description="Synced from a calendar")
@unit_of_work()
def delete_busy(block_id):
    services.delete_busy(current_user, block_id)


@blp.route("/tutors/me/out-of-office", methods=["POST"])
@auth_required("tutor")
@blp.doc(summary="Go out of office", description="A period (≤ 366 days, ending in the future) with no slots, "
         "with an optional note and a colleague (another active tutor) to suggest. The students of your requests "
         "and confirmed sessions in it get an in-app notification and an email with the note and the suggestion; "
         "the bookings themselves stay until you or they act. Listed and removed through /tutors/me/busy.")
@blp.arguments(OutOfOfficeCreateSchema, examples={"example": {"value": {
    "start": "2026-12-21T00:00:00Z", "end": "2026-12-28T00:00:00Z", "note": "Winter holiday",
    "colleague_id": 3}}})
@blp.response(201, OutOfOfficeSchema)
@unit_of_work()
def out_of_office(data):
    return services.add_out_of_office(current_user, data["start"], data["end"], data["note"], data["colleague_id"])


@blp.route("/tutors/<int:tutor_id>/slots")
@blp.doc(summary="A tutor's free slots", description="Public, like profiles and reviews: no login needed. "
         "Bookable slots in [start, end) as UTC instants, DST-correct, minus bookings (with buffers), busy blocks, "
         "notice, horizon and limits. At most 92 days.")
@blp.arguments(SlotQuerySchema, location="query")
@blp.response(200, SlotListSchema)
def tutor_slots(query, tutor_id):
    return services.get_slots(tutor_id, query["start"], query["end"], query.get("duration"))


@blp.route("/bookings")
class Bookings(MethodView):
    @auth_required()
    @blp.doc(operationId="listBookings")
    @blp.doc(summary="My bookings", description="As tutor or student; filter by state, start range, role.")
    @blp.arguments(BookingQuerySchema, location="query")
    @blp.response(200, BookingSchema(many=True))
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, query, pagination_parameters):
        return paginate(services.list_bookings(current_user, **query), pagination_parameters)

    @auth_required()
    @confirmed_email_required
    @idempotent()
    @blp.doc(operationId="createBooking")
    @blp.doc(summary="Request a session", description="Holds the slot as `requested` (or `confirmed` when the "
             "tutor takes instant bookings) and its price (the tutor's hourly rate × duration, in the tutor's "
             "currency) from the wallet into escrow; with `use_credit` a package credit pays instead (given back "
             "if the booking is rejected, expires or is refunded in full). 402 with the shortfall when the wallet holds less. 409 when "
             "the time was taken meanwhile (by anyone, or by another session of yours as tutor or student), when "
             "the tutor's daily or weekly limit is reached, when you already hold BOOKING_MAX_PENDING_PER_TUTOR "
             "(3) unanswered requests with this tutor, or when the Idempotency-Key is in use. Takes an "
             "`Idempotency-Key`.", parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(BookingCreateSchema, examples={"example": {"value": BOOKING_EXAMPLE}})
    @blp.response(201, BookingSchema)
    @blp.alt_response(402, description="Insufficient funds: `errors.shortfall` says how much is missing")
    @blp.alt_response(404, description="`use_credit` is not one of my package purchases")
    @blp.alt_response(409, description="Slot taken, limit reached, too many pending requests with this tutor, "
                      "no credit left on `use_credit`, or the Idempotency-Key is in use")
    @unit_of_work()
    def post(self, data):
        return services.create_booking(current_user, data["tutor_id"], data["start"], data["duration"],
                                       data["subject"], data["note"], currency=data.get("currency"),
                                       idempotency_key=current_key(), use_credit=data.get("use_credit"))


@blp.route("/bookings/<int:booking_id>")
@auth_required()
@blp.doc(summary="One booking", description="Participants and admins; anyone else gets 404.")
@blp.response(200, BookingSchema)
def get_booking(booking_id):
    return services.get_booking(current_user, booking_id)


@blp.route("/bookings/<int:booking_id>/accept", methods=["POST"])
@auth_required("tutor")
@blp.doc(summary="Accept a request (tutor)", description="requested → confirmed; both sides get an email with "
         "an .ics and reminders are scheduled.")
@blp.response(200, BookingSchema)
@unit_of_work()
def accept_booking(booking_id):
    return services.accept(current_user, booking_id)


@blp.route("/bookings/<int:booking_id>/reject", methods=["POST"])
@auth_required("tutor")
@idempotent()
@blp.doc(summary="Reject a request (tutor)", description="requested → rejected; the slot frees up and the "
         "price held in escrow goes back to the student's wallet. Takes an `Idempotency-Key`.",
         parameters=[IDEMPOTENCY_KEY_PARAMETER])
@blp.arguments(RejectSchema, examples={"example": {"value": {"reason": "Not my subject"}}})
@blp.response(200, BookingSchema)
@unit_of_work()
def reject_booking(data, booking_id):
    return services.reject(current_user, booking_id, data.get("reason"))


@blp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@auth_required()
@idempotent()
@blp.doc(summary="Cancel a booking", description="Either participant; the cancellation-window terms are "
         "recorded on the booking (`cancellation_policy`) and settle its escrow at once: `refund_percent` back to "
         "the student's wallet, the rest to the tutor minus the platform commission. Reminders are dropped. Takes "
         "an `Idempotency-Key`.", parameters=[IDEMPOTENCY_KEY_PARAMETER])
@blp.arguments(CancelSchema, examples={"example": {"value": {"reason": "I am ill"}}})
@blp.response(200, BookingSchema)
@unit_of_work()
def cancel_booking(data, booking_id):
    return services.cancel(current_user, booking_id, data["reason"])


@blp.route("/bookings/<int:booking_id>/reschedule", methods=["POST"])
@auth_required()
@blp.doc(summary="Reschedule", description="Immediate when the policy allows (student moving their own request, "
         "or a confirmed session of an instant-booking tutor outside the cancellation window); otherwise a "
         "proposal the other side accepts or declines.")
@blp.arguments(RescheduleSchema, examples=START_EXAMPLE)
@blp.response(200, BookingSchema)
@unit_of_work()
def reschedule_booking(data, booking_id):
    return services.reschedule(current_user, booking_id, data["start"])


@blp.route("/bookings/<int:booking_id>/reschedule/accept", methods=["POST"])
@auth_required()
@blp.doc(summary="Accept the proposed time", description="By the participant who did not propose it.")
@blp.response(200, BookingSchema)
@unit_of_work()
def accept_proposal(booking_id):
    return services.respond_to_proposal(current_user, booking_id, accepted=True)


@blp.route("/bookings/<int:booking_id>/reschedule/decline", methods=["POST"])
@auth_required()
@blp.doc(summary="Decline the proposed time", description="The booking keeps its time.")
@blp.response(200, BookingSchema)
@unit_of_work()
def decline_proposal(booking_id):
    return services.respond_to_proposal(current_user, booking_id, accepted=False)


def _mark_view(action, summary, description):
    @auth_required("tutor")
    @idempotent()
    @blp.doc(summary=summary, description=description, parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.response(200, BookingSchema)
    @unit_of_work()
    def view(booking_id):
        return services.mark(current_user, booking_id, action)

    view.__name__ = f"mark_{action}"
    return view


blp.route("/bookings/<int:booking_id>/start", methods=["POST"])(_mark_view(
    "start", "Mark in progress (tutor)", "confirmed → in_progress, from 15 minutes before the start."))
blp.route("/bookings/<int:booking_id>/complete", methods=["POST"])(_mark_view(
    "complete", "Mark completed (tutor)", "confirmed/in_progress → completed, once the session has begun; the "
    "escrow is paid to the tutor (minus commission) after the dispute window."))
blp.route("/bookings/<int:booking_id>/no-show", methods=["POST"])(_mark_view(
    "no_show", "Mark no-show (tutor)", "confirmed → no_show (the student did not come), once the session has "
    "begun; the escrow is paid to the tutor after the dispute window."))


@blp.route("/admin/bookings/<int:booking_id>/state", methods=["POST"])
@auth_required("admin")
@idempotent()
@blp.doc(summary="Force a booking's state (admin)", description="Bypasses the transition table; still 409 "
         "when it would double-book. The note is kept on the booking. Money follows the new state as for the "
         "participants' own moves (`no_show_by: tutor` refunds in full; reviving a settled booking holds its "
         "price again, 402 when the wallet is short). Takes an `Idempotency-Key`.",
         parameters=[IDEMPOTENCY_KEY_PARAMETER])
@blp.arguments(AdminStateSchema, examples={"example": {"value": {"state": "cancelled", "note": "Dispute #12"}}})
@blp.response(200, AdminBookingSchema)
@unit_of_work()
def admin_set_state(data, booking_id):
    return services.admin_set_state(current_user, booking_id, data["state"], data["note"],
                                    no_show_by=data["no_show_by"])


@blp.route("/admin/bookings/<int:booking_id>/reschedule", methods=["POST"])
@auth_required("admin")
@blp.doc(summary="Move a booking (admin)", description="Ignores notice/horizon/slot rules; 409 on overlap.")
@blp.arguments(RescheduleSchema, examples=START_EXAMPLE)
@blp.response(200, AdminBookingSchema)
@unit_of_work()
def admin_reschedule(data, booking_id):
    return services.admin_reschedule(current_user, booking_id, data["start"])
