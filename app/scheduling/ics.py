"""RFC 5545 calendars of bookings (email invites, the calendars domain's feed), built with the icalendar package."""
from icalendar import Calendar, Event, vCalAddress

from app.common.errors import Invalid
from app.common.time import utcnow
from app.tutors import services as tutors

PRODID = "-//Tutorhub//Scheduling//EN"
UID_DOMAIN = "tutorhub.local"


def booking_uid(booking):
    """Stable for the life of a booking: calendars update the same event on reschedule or cancel."""
    return f"booking-{booking.id}@{UID_DOMAIN}"


def booking_status(booking):
    return "CANCELLED" if booking.state in ("cancelled", "rejected", "expired") else "CONFIRMED"


def subject_name(slug):
    """The subject's name for people (emails, calendar entries), not its slug; a slug no longer in the catalog
    reads as words."""
    try:
        return tutors.subject_by_slug(slug).name
    except Invalid:
        return slug.replace("-", " ")


def booking_event(booking, viewer_id=None):
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", booking.updated_at or utcnow())
    event.add("dtstart", booking.start_at)
    event.add("dtend", booking.end_at)
    event.add("sequence", booking.sequence)
    event.add("status", booking_status(booking))
    other = booking.student if viewer_id == booking.tutor_id else booking.tutor
    subject = subject_name(booking.subject)
    event.add("summary", f"Tutorhub: {subject} with {other.full_name}" if viewer_id else f"Tutorhub: {subject}")
    event.add("description", booking.note or f"Tutoring session ({booking.duration_minutes} minutes).")
    organizer = vCalAddress(f"mailto:{booking.tutor.email}")
    organizer.params["cn"] = booking.tutor.full_name
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{booking.student.email}")
    attendee.params["cn"] = booking.student.full_name
    event.add("attendee", attendee)
    return event


def calendar(events, method=None, name=None):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def booking_invite(booking, viewer_id):
    """A one-event calendar for an email attachment: REQUEST while it stands, CANCEL once it does not."""
    method = "CANCEL" if booking_status(booking) == "CANCELLED" else "REQUEST"
    return calendar([booking_event(booking, viewer_id)], method=method)
