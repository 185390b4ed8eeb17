"""factory-boy factories for every model."""
from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth.models import PasswordResetOTP, RecoveryCode
from app.common.security import hash_password, keyed_digest
from app.common.time import utcnow
from app.extensions import db
from app.notifications.models import OutboxMessage
from app.users.models import User

DEFAULT_PASSWORD = "a perfectly fine passphrase"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
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


# --- messaging ---
from app.messaging.models import Attachment, Conversation, ConversationParticipant, Message  # noqa: E402
from app.notifications.models import Notification  # noqa: E402


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
