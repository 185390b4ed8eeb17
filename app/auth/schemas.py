from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.time import validate_timezone
from app.users.models import SIGNUP_ROLES
from app.users.passwords import MAX_LENGTH, password_problems
from app.users.schemas import MeSchema


def _roles_for_signup(roles):
    unknown = [role for role in roles if role not in SIGNUP_ROLES]
    if unknown:
        raise ValidationError(f"Roles {unknown} cannot be chosen at signup; choose from {list(SIGNUP_ROLES)}.")


class SignupSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    roles = fields.List(fields.String(), required=True, validate=[validate.Length(min=1, max=3), _roles_for_signup])
    timezone = fields.String(required=True, validate=validate_timezone)

    @validates_schema
    def _password_policy(self, data, **_kwargs):
        if "password" in data:
            problems = password_problems(data["password"], data.get("email"))
            if problems:
                raise ValidationError(problems, field_name="password")


class TokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=500))


class LoginSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))


class TokensSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(dump_default="Bearer")
    user = fields.Nested(MeSchema)


class LoginResultSchema(TokensSchema):
    mfa_required = fields.Boolean(dump_default=False)
    mfa_token = fields.String()
    mfa_setup_required = fields.Boolean(dump_default=False, metadata={
        "description": "The account's role requires MFA: the access token only sets it up (no refresh token)"})


class MFAVerifySchema(Schema):
    mfa_token = fields.String(required=True, validate=validate.Length(max=500))
    code = fields.String(required=True, validate=validate.Length(min=6, max=20),
                         metadata={"description": "A 6-digit TOTP code or a recovery code"})


class MFASetupResultSchema(Schema):
    secret = fields.String()
    otpauth_uri = fields.String()


class MFACodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=6, max=20))


class MFADisableSchema(MFACodeSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String())


class ForgotPasswordSchema(Schema):
    email = fields.Email(required=True)


class ResetPasswordSchema(Schema):
    email = fields.Email(required=True)
    otp = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="The code has 6 digits."))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))

    @validates_schema
    def _password_policy(self, data, **_kwargs):
        if "new_password" in data:
            problems = password_problems(data["new_password"], data.get("email"))
            if problems:
                raise ValidationError(problems, field_name="new_password")


class ChangePasswordSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))


class MessageSchema(Schema):
    message = fields.String()
