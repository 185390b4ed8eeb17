"""factory-boy factories for every model."""
from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth.models import PasswordResetOTP, RecoveryCode
from app.common.security import hash_password, keyed_digest
from app.common.time import utcnow
from app.extensions import db
from app.matching.models import MatchingWeight, StudentBlock
from app.messaging.models import (
    Attachment,
    Conversation,
    ConversationParticipant,
    Message,
)
from app.notifications.models import Notification, OutboxMessage
from app.reviews.models import Review
from app.scheduling.models import (
    AvailabilityRule,
    Booking,
    BusyBlock,
    SchedulingSettings,
)
from app.tutors.models import Subject, TutorDocument, TutorProfile, TutorSubject
from app.users.models import User

DEFAULT_PASSWORD = "a perfectly fine passphrase"


def _session():
    return db.session


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _session
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))
    timezone = "Europe/London"
    bio = factory.Faker("sentence")
    email_confirmed_at = factory.LazyFunction(utcnow)
    learning_styles = factory.LazyFunction(list)
    preferences = factory.LazyFunction(dict)
    social_links = factory.LazyFunction(dict)

    @factory.post_generation
    def roles(self, create, extracted, **_kwargs):
        self.roles = extracted if extracted is not None else ["student"]
        if create:
            db.session.commit()


class RecoveryCodeFactory(BaseFactory):
    class Meta:
        model = RecoveryCode

    user_id = factory.LazyAttribute(lambda o: UserFactory().id)
    code_digest = factory.LazyFunction(lambda: keyed_digest("abcde-fghjk"))


class PasswordResetOTPFactory(BaseFactory):
    class Meta:
        model = PasswordResetOTP

    user_id = factory.LazyAttribute(lambda o: UserFactory().id)
    otp_digest = factory.LazyFunction(lambda: keyed_digest("123456"))
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(minutes=10))


class OutboxMessageFactory(BaseFactory):
    class Meta:
        model = OutboxMessage

    channel = "email"
    recipient = factory.Sequence(lambda n: f"rcpt{n}@example.com")
    subject = "Hello"
    body_text = "Hello there"
    status = "pending"


# --- tutors and matching ---------------------------------------------------------------------------


class SubjectFactory(BaseFactory):
    class Meta:
        model = Subject
        sqlalchemy_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"subject-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    category = "STEM"


class TutorProfileFactory(BaseFactory):
    """A tutor user with a profile; pass ``user`` to reuse one."""

    class Meta:
        model = TutorProfile

    user = factory.SubFactory(UserFactory, roles=["tutor"])
    search_name = factory.LazyAttribute(lambda o: o.user.full_name)
    headline = factory.Faker("sentence", nb_words=6)
    bio = factory.Faker("paragraph")
    rate_cents = 3000
    currency = "USD"
    languages = factory.LazyFunction(lambda: ["en"])
    teaching_styles = factory.LazyFunction(list)
    mode = "online"
    years_experience = 3
    offers_trial = False
    verified = False
    rating_count = 0


class TutorSubjectFactory(BaseFactory):
    class Meta:
        model = TutorSubject

    profile = factory.SubFactory(TutorProfileFactory)
    subject = factory.SubFactory(SubjectFactory)
    level = "secondary"


class TutorDocumentFactory(BaseFactory):
    class Meta:
        model = TutorDocument

    tutor = factory.SubFactory(UserFactory, roles=["tutor"])
    kind = "id_card"
    storage_key = factory.Sequence(lambda n: f"tutordoc-{n:032x}.pdf")
    content_type = "application/pdf"
    size_bytes = 1024
    original_filename = "passport.pdf"
    status = "pending"


class StudentBlockFactory(BaseFactory):
    class Meta:
        model = StudentBlock

    student_id = factory.LazyAttribute(lambda o: UserFactory().id)
    tutor_id = factory.LazyAttribute(lambda o: TutorProfileFactory().user_id)


class MatchingWeightFactory(BaseFactory):
    class Meta:
        model = MatchingWeight
        sqlalchemy_get_or_create = ("name",)

    name = "expertise"
    weight = 0.25


# --- scheduling ---------------------------------------------------------------------------------------------


class TutorFactory(UserFactory):
    timezone = "America/New_York"

    @factory.post_generation
    def roles(self, create, extracted, **_kwargs):
        self.roles = extracted if extracted is not None else ["tutor"]
        if create:
            db.session.commit()


class SchedulingSettingsFactory(BaseFactory):
    class Meta:
        model = SchedulingSettings

    tutor_id = factory.LazyAttribute(lambda o: TutorFactory().id)
    session_lengths = factory.LazyFunction(lambda: [30, 60])
    slot_interval_minutes = 30
    buffer_before_minutes = 0
    buffer_after_minutes = 0
    min_notice_minutes = 0
    max_days_ahead = 365
    instant_booking = False
    cancellation_window_hours = 24
    late_cancellation_refund_percent = 50


class AvailabilityRuleFactory(BaseFactory):
    class Meta:
        model = AvailabilityRule

    tutor_id = factory.LazyAttribute(lambda o: TutorFactory().id)
    weekday = 0
    start_minute = 9 * 60
    end_minute = 17 * 60


class BusyBlockFactory(BaseFactory):
    class Meta:
        model = BusyBlock

    user_id = factory.LazyAttribute(lambda o: TutorFactory().id)
    start_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=1))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=1))
    source = "manual"


class BookingFactory(BaseFactory):
    """A booking written directly (no slot rules): for states and times the API would not allow now."""

    class Meta:
        model = Booking

    tutor = factory.SubFactory(TutorFactory)
    student = factory.SubFactory(UserFactory)
    tutor_id = factory.SelfAttribute("tutor.id")
    student_id = factory.SelfAttribute("student.id")
    subject = "calculus"
    note = ""
    state = "confirmed"
    start_at = factory.LazyFunction(lambda: utcnow().replace(microsecond=0) + timedelta(days=2))
    duration_minutes = 60
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(minutes=o.duration_minutes))
    tutor_range_start = factory.SelfAttribute("start_at")
    tutor_range_end = factory.SelfAttribute("end_at")
    sequence = 0
    confirmed_at = factory.LazyAttribute(lambda o: utcnow() if o.state != "requested" else None)


# --- reviews ---------------------------------------------------------------------------------------


def completed_booking(**kwargs):
    """A booking that ended an hour ago and was completed."""
    start_at = kwargs.pop("start_at", utcnow().replace(microsecond=0) - timedelta(hours=2))
    return BookingFactory(state="completed", start_at=start_at, completed_at=start_at + timedelta(hours=1),
                          **kwargs)


class ReviewFactory(BaseFactory):
    """An unreleased student → tutor review written directly; use the services to release and count it."""

    class Meta:
        model = Review
        exclude = ("booking",)

    booking = factory.LazyFunction(completed_booking)
    booking_id = factory.SelfAttribute("booking.id")
    tutor_id = factory.SelfAttribute("booking.tutor_id")
    student_id = factory.SelfAttribute("booking.student_id")
    author_id = factory.SelfAttribute("booking.student_id")
    author_role = "student"
    clarity = 4
    knowledge = 4
    responsiveness = 4
    punctuality = 4
    overall = 4
    would_recommend = True
    comment = "Helpful session."
    window_closes_at = factory.LazyAttribute(lambda o: o.booking.end_at + timedelta(days=30))
    status = "visible"


# --- messaging ---


class ConversationFactory(BaseFactory):
    """A pair conversation; pass users=(a, b)."""

    class Meta:
        model = Conversation
        exclude = ("users",)

    users = factory.LazyFunction(lambda: (UserFactory(), UserFactory()))
    kind = "pair"
    user_low_id = factory.LazyAttribute(lambda o: min(u.id for u in o.users))
    user_high_id = factory.LazyAttribute(lambda o: max(u.id for u in o.users))
    participants = factory.LazyAttribute(
        lambda o: [ConversationParticipant(user_id=u.id) for u in sorted(o.users, key=lambda u: u.id)]
    )


class MessageFactory(BaseFactory):
    """A message; pass conversation=<Conversation> (and sender_id) to put it in an existing one."""

    class Meta:
        model = Message
        exclude = ("conversation",)

    conversation = factory.SubFactory(ConversationFactory)
    conversation_id = factory.LazyAttribute(lambda o: o.conversation.id)
    sender_id = factory.LazyAttribute(lambda o: o.conversation.user_low_id)
    body = factory.Faker("sentence")
    created_at = factory.LazyFunction(utcnow)


class AttachmentFactory(BaseFactory):
    class Meta:
        model = Attachment

    uploader_id = factory.LazyAttribute(lambda o: UserFactory().id)
    storage_key = factory.Sequence(lambda n: f"attachment-{n:032x}.pdf")
    content_type = "application/pdf"
    size = 1234
    filename = "notes.pdf"


class NotificationFactory(BaseFactory):
    class Meta:
        model = Notification

    user_id = factory.LazyAttribute(lambda o: UserFactory().id)
    kind = "message"
    title = "New message"
    body = "Hello"
    data = factory.LazyFunction(dict)


def fund_wallet(user, amount_minor, currency="USD", memo="test funding"):
    """Put money in a user's wallet the way the platform does: a ledger transaction from external:paypal."""
    from app.common.transactions import unit_of_work
    from app.payments import services as payments

    with unit_of_work():
        payments.fund_wallet(user.id, amount_minor, currency, "seed", memo=memo)
