import re

from marshmallow import Schema, ValidationError, fields, validate, validates

from app.common import storage
from app.common.inputs import Integer
from app.common.time import validate_timezone
from app.users.models import LEARNING_STYLES, ROLES

SOCIAL_NETWORKS = ("website", "linkedin", "github", "twitter", "youtube", "facebook", "instagram")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class PublicUserSchema(Schema):
    """What anyone may see of a user."""

    id = Integer(dump_only=True)
    full_name = fields.String()
    bio = fields.String()
    timezone = fields.String()
    locale = fields.String()
    roles = fields.List(fields.String())
    learning_styles = fields.List(fields.String())
    social_links = fields.Dict(keys=fields.String(), values=fields.String())
    avatar_url = fields.Method("get_avatar_url", allow_none=True)
    created_at = fields.AwareDateTime()

    def get_avatar_url(self, user):
        if not user.avatar_key:
            return None
        return storage.signed_url(user.avatar_key, user.avatar_content_type)


class MeSchema(PublicUserSchema):
    """What a user sees of themself."""

    email = fields.Email()
    email_confirmed = fields.Boolean()
    mfa_enabled = fields.Boolean()
    preferences = fields.Dict()
    phone_number = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()


class AdminUserSchema(MeSchema):
    """What an admin sees."""

    is_active = fields.Boolean()
    last_login_at = fields.AwareDateTime(allow_none=True)


def _validate_social_links(links):
    errors = {}
    for network, url in links.items():
        if network not in SOCIAL_NETWORKS:
            errors[network] = [f"Unknown network; use one of {', '.join(SOCIAL_NETWORKS)}."]
            continue
        try:
            validate.URL(schemes={"https"}, require_tld=True)(url)
        except ValidationError:
            errors[network] = ["Not a valid https URL."]
        if len(url) > 300:
            errors[network] = ["URL is longer than 300 characters."]
    if errors:
        raise ValidationError(errors)


class MeUpdateSchema(Schema):
    full_name = fields.String(validate=validate.Length(min=1, max=120))
    bio = fields.String(validate=validate.Length(max=4000))
    timezone = fields.String(validate=validate_timezone)
    locale = fields.String(validate=validate.Regexp(r"^[a-z]{2}(-[A-Z]{2})?$", error="Use a locale like 'en' or 'pt-BR'."))
    learning_styles = fields.List(fields.String(validate=validate.OneOf(LEARNING_STYLES)), validate=validate.Length(max=4))
    preferences = fields.Dict(keys=fields.String(validate=validate.Length(max=50)))
    social_links = fields.Dict(keys=fields.String(), values=fields.String(), validate=_validate_social_links)
    phone_number = fields.String(allow_none=True, validate=validate.Regexp(E164, error="Use E.164 format, e.g. +14155550123."))

    @validates("preferences")
    def _bounded_preferences(self, value, **_kwargs):
        if len(value) > 50 or len(repr(value)) > 4000:
            raise ValidationError("Preferences are limited to 50 keys and 4,000 characters.")


class AvatarUploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class AdminUserQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Matches email or name"})
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


class AdminUserUpdateSchema(Schema):
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(max=len(ROLES)))
    is_active = fields.Boolean()


class UserAdminEventSchema(Schema):
    id = Integer()
    admin_id = Integer(allow_none=True)
    action = fields.String(metadata={"description": "roles, deactivate or reactivate"})
    detail = fields.Dict(metadata={"description": "roles: {before, after}"})
    at = fields.AwareDateTime()
