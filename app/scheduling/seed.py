"""Demo availability for the demo tutors (`flask seed-demo`); running it twice changes nothing."""
from app.extensions import db
from app.scheduling.models import AvailabilityRule, SchedulingSettings

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
