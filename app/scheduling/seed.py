"""Demo availability and completed sessions for the demo accounts (`flask seed-demo`); running it twice changes
nothing. The caller's unit of work commits. The sessions are paid: their price is held from the student's demo
wallet (``app.payments.seed`` funds it first) and, the dispute window being over, settled to the tutor."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.payments import services as payments
from app.scheduling.models import AvailabilityRule, Booking, BusyBlock, SchedulingSettings

DEMO_AVAILABILITY = {
    "maria.garcia@tutorhub.test": {
        "rules": [(day, start, end) for day in range(5) for start, end in (("09:00", "13:00"), ("15:00", "19:00"))],
        "settings": {"session_lengths": [60, 90], "buffer_after_minutes": 15, "min_notice_minutes": 720,
                     "max_days_ahead": 60, "daily_limit": 5, "cancellation_window_hours": 24},
    },
    "james.okafor@tutorhub.test": {
        "rules": [(day, "18:00", "21:00") for day in range(4)] + [(5, "10:00", "14:00")],
        "settings": {"session_lengths": [30, 60], "min_notice_minutes": 240, "max_days_ahead": 30,
                     "instant_booking": True, "weekly_limit": 12, "cancellation_window_hours": 12},
    },
    "yuki.tanaka@tutorhub.test": {
        "rules": [(day, "19:00", "22:00") for day in range(1, 7)],
        "settings": {"session_lengths": [30, 60], "buffer_before_minutes": 5, "buffer_after_minutes": 5,
                     "min_notice_minutes": 1440, "max_days_ahead": 45, "late_cancellation_refund_percent": 0},
    },
}


def _minutes(text):
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def seed_demo_availability(users_by_email):
    for email, spec in DEMO_AVAILABILITY.items():
        tutor = users_by_email.get(email)
        if tutor is None or db.session.get(SchedulingSettings, tutor.id) is not None:
            continue
        db.session.add(SchedulingSettings(tutor_id=tutor.id, slot_interval_minutes=30, **spec["settings"]))
        db.session.add_all(
            AvailabilityRule(tutor_id=tutor.id, weekday=day, start_minute=_minutes(start), end_minute=_minutes(end))
            for day, start, end in spec["rules"]
        )
    db.session.flush()
    seed_demo_out_of_office(users_by_email)


# María is out of office for a week (Monday to Monday, her time) three weeks after the seed ran; she suggests James.
DEMO_OUT_OF_OFFICE = ("maria.garcia@tutorhub.test", "james.okafor@tutorhub.test", "At a conference in Lisbon.")


def seed_demo_out_of_office(users_by_email):
    email, colleague_email, note = DEMO_OUT_OF_OFFICE
    tutor, colleague = users_by_email.get(email), users_by_email.get(colleague_email)
    if tutor is None or db.session.scalar(sa.select(BusyBlock.id).where(
            BusyBlock.user_id == tutor.id, BusyBlock.source == "out_of_office").limit(1)) is not None:
        return
    zone = ZoneInfo(tutor.timezone)
    today = utcnow().astimezone(zone).date()
    monday = today + timedelta(days=21 - today.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=zone)
    db.session.add(BusyBlock(user_id=tutor.id, start_at=start.astimezone(UTC), end_at=end.astimezone(UTC),
                             source="out_of_office", note=note,
                             colleague_id=colleague.id if colleague else None))
    db.session.flush()


# Completed one-hour sessions three days ago (the reviews seed reviews them), found again by their note.
DEMO_SESSION_NOTE = "Demo session (reviews seed)"
DEMO_SESSIONS = [
    ("maria.garcia@tutorhub.test", "sam.student@tutorhub.test", "calculus"),
    ("yuki.tanaka@tutorhub.test", "lea.martin@tutorhub.test", "japanese"),
]


def seed_demo_sessions(users_by_email):
    """The demo completed sessions, created once: {(tutor email, student email): booking id}."""
    start_at = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    sessions = {}
    for tutor_email, student_email, subject in DEMO_SESSIONS:
        tutor, student = users_by_email.get(tutor_email), users_by_email.get(student_email)
        if tutor is None or student is None:
            continue
        booking_id = db.session.scalar(sa.select(Booking.id).where(
            Booking.note == DEMO_SESSION_NOTE, Booking.tutor_id == tutor.id, Booking.student_id == student.id))
        if booking_id is None:
            booking_id = _paid_session(tutor, student, subject, start_at)
        sessions[(tutor_email, student_email)] = booking_id
    return sessions


def _paid_session(tutor, student, subject, start_at):
    end_at = start_at + timedelta(hours=1)
    price, currency = payments.quote_booking(tutor.id, 60)
    booking = Booking(tutor_id=tutor.id, student_id=student.id, subject=subject, note=DEMO_SESSION_NOTE,
                      state="completed", start_at=start_at, end_at=end_at, duration_minutes=60,
                      tutor_range_start=start_at, tutor_range_end=end_at, sequence=0, price_minor=price,
                      currency=currency, confirmed_at=start_at - timedelta(days=1), completed_at=end_at)
    db.session.add(booking)
    db.session.flush()
    if payments.hold_for_booking(booking.id, student.id, tutor.id, price, currency) is not None:
        payments.settle_cause(payments.BOOKING, booking.id, 0, "completed")
    return booking.id


MARKET_NOTE = "Demo history {key}"


def seed_market_availability(tutor_specs, users_by_email):
    """Weekly hours and settings for each demo marketplace tutor, once."""
    for spec in tutor_specs:
        tutor = users_by_email[spec["email"]]
        if db.session.get(SchedulingSettings, tutor.id) is not None:
            continue
        plan = spec["availability"]
        db.session.add(SchedulingSettings(
            tutor_id=tutor.id, timezone=spec["timezone"], slot_interval_minutes=30,
            session_lengths=plan["session_lengths"], instant_booking=plan["instant_booking"],
            min_notice_minutes=720, max_days_ahead=60))
        start, end = plan["hours"]
        db.session.add_all(AvailabilityRule(tutor_id=tutor.id, weekday=day, start_minute=_minutes(start),
                                            end_minute=_minutes(end)) for day in plan["weekdays"])
    db.session.flush()


def seed_market_sessions(sessions, users_by_email):
    """The planned completed one-hour sessions, created once (found again by their note): {key: Booking}."""
    notes = {MARKET_NOTE.format(key=session["key"]): session for session in sessions}
    existing = {booking.note: booking for booking in db.session.scalars(
        sa.select(Booking).where(Booking.note.in_(notes)))}
    today = utcnow().replace(minute=0, second=0, microsecond=0)
    created = {}
    for note, session in notes.items():
        booking = existing.get(note)
        if booking is None:
            start_at = (today - timedelta(days=session["days_ago"])).replace(hour=session["hour"])
            end_at = start_at + timedelta(hours=1)
            booking = Booking(tutor_id=users_by_email[session["tutor"]].id,
                              student_id=users_by_email[session["student"]].id, subject=session["subject"],
                              note=note, state="completed", start_at=start_at, end_at=end_at, duration_minutes=60,
                              tutor_range_start=start_at, tutor_range_end=end_at, sequence=0,
                              confirmed_at=start_at - timedelta(days=2), started_at=start_at, completed_at=end_at)
            db.session.add(booking)
        created[session["key"]] = booking
    db.session.flush()
    return created
