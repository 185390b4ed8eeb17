"""Disputes: the multipart bodies of a dispute and a response, the admin's resolution, and the shapes answered to
the parties and to admins."""
from marshmallow import Schema, fields, validate

from app.common.inputs import Integer
from app.payments import services
from app.payments.dispute_models import DISPUTE_REASONS, DISPUTE_STATES
from app.payments.disputes import MAX_DETAILS, MAX_NOTE

FILE = {"type": "string", "format": "binary"}


class DisputeCreateSchema(Schema):
    """multipart/form-data: the reason, the details and up to DISPUTE_MAX_EVIDENCE_FILES `evidence` files."""

    reason = fields.String(required=True, validate=validate.OneOf(DISPUTE_REASONS))
    details = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DETAILS))
    evidence = fields.List(fields.Raw(metadata=FILE), load_default=list,
                           metadata={"description": "Evidence files (repeat the field): PDF, images, Office "
                                                    "documents or plain text, each at most ATTACHMENT_MAX_BYTES"})


class DisputeResponseCreateSchema(Schema):
    """multipart/form-data: the tutor's answer and up to DISPUTE_MAX_EVIDENCE_FILES `evidence` files."""

    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DETAILS))
    evidence = fields.List(fields.Raw(metadata=FILE), load_default=list)


class DisputeQuerySchema(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(DISPUTE_STATES))


class ResolutionSchema(Schema):
    resolution = fields.String(required=True, validate=validate.OneOf(("split",)),
                               metadata={"description": "split: `percent_to_student` of the held money back to the "
                                                        "student's wallet, the rest to the tutor minus commission"})
    percent_to_student = Integer(required=True, min=0, max=100, strict=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_NOTE))


class EvidenceSchema(Schema):
    id = Integer()
    party = fields.String(metadata={"description": "student or tutor"})
    filename = fields.String()
    content_type = fields.String()
    size = Integer()
    url = fields.Function(services.evidence_url, metadata={"description": "Signed, expiring download URL"})
    created_at = fields.AwareDateTime()


class DisputeResponseSchema(Schema):
    id = Integer()
    author_id = Integer()
    body = fields.String()
    evidence = fields.List(fields.Nested(EvidenceSchema))
    created_at = fields.AwareDateTime()


class PaymentDisputeSchema(Schema):
    id = Integer()
    booking_id = Integer(attribute="cause_id")
    student_id = Integer()
    tutor_id = Integer()
    amount_minor = Integer(metadata={"description": "The disputed (held) amount, integer minor units"})
    currency = fields.String()
    reason = fields.String()
    details = fields.String()
    state = fields.String(metadata={"description": "open, resolved (an admin's split) or closed (settled "
                                                   "another way)"})
    window_ends_at = fields.AwareDateTime(metadata={"description": "When the frozen release was due"})
    evidence = fields.Method("_opening_evidence", metadata={"description": "The student's evidence files"})
    responses = fields.List(fields.Nested(DisputeResponseSchema))
    percent_to_student = Integer(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()

    def _opening_evidence(self, dispute):
        return EvidenceSchema(many=True).dump([e for e in dispute.evidence if e.response_id is None])


class AdminPaymentDisputeSchema(PaymentDisputeSchema):
    hold_id = Integer()
    resolved_by_id = Integer(allow_none=True)
    settle_transaction_id = Integer(allow_none=True)
