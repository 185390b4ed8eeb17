from flask import request
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.messaging import services
from app.messaging.schemas import (
    AttachmentSchema,
    AttachmentUploadSchema,
    ChatMessageSchema,
    ConversationCreateSchema,
    ConversationSchema,
    HistoryQuerySchema,
    MessageCreateSchema,
    MessagePageSchema,
    ReadReceiptSchema,
    ReadSchema,
)

blp = Blueprint("messaging", __name__, url_prefix="/api/v1", description="Private conversations and messages")


@blp.route("/conversations", methods=["GET"])
@auth_required()
@blp.doc(summary="My conversations",
         description="Most recently active first, each with its participants (and whether they are online), "
                     "its last message and my unread count; paginated.")
@blp.response(200, ConversationSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def list_conversations(pagination_parameters):
    rows = paginate(services.list_query(current_user.id), pagination_parameters)
    return services.conversation_views(rows, current_user.id)


@blp.route("/conversations", methods=["POST"])
@auth_required()
@blp.doc(summary="Open a private conversation",
         description="The one conversation between me and `user_id`, created on first use (201) or returned "
                     "as it is (200). A user who blocked me answers 403.")
@blp.arguments(ConversationCreateSchema, examples={"example": {"value": {"user_id": 7}}})
@blp.response(200, ConversationSchema)
@blp.alt_response(201, schema=ConversationSchema, description="Created")
@blp.alt_response(403, description="This user blocked me")
@unit_of_work()
def open_conversation(body):
    conversation, created = services.get_or_create_pair(current_user.id, body["user_id"])
    return services.conversation_view(conversation, current_user.id), 201 if created else 200


@blp.route("/conversations/<int:conversation_id>", methods=["GET"])
@auth_required()
@blp.doc(summary="One conversation", description="Only its participants see it; anyone else gets 404.")
@blp.response(200, ConversationSchema)
def get_conversation(conversation_id):
    conversation = services.get_for_participant(conversation_id, current_user.id)
    return services.conversation_view(conversation, current_user.id)


@blp.route("/conversations/<int:conversation_id>/messages", methods=["GET"])
@auth_required()
@blp.doc(summary="Message history",
         description="Newest first; pass the answer's `next_before` as `before` for older messages. Recent "
                     "history is served from Redis when cached, the database being the source of truth.")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, MessagePageSchema)
def list_messages(query, conversation_id):
    return services.list_messages(current_user.id, conversation_id, query.get("before"), query["limit"])


@blp.route("/conversations/<int:conversation_id>/messages", methods=["POST"])
@auth_required()
@blp.doc(summary="Send a message (REST fallback)",
         description="Same rules as the `message:send` Socket.IO event: stored, then broadcast as "
                     "`message:new`. A repeated client_id returns the stored message with 200.")
@blp.arguments(MessageCreateSchema, examples={"example": {"value": {"body": "Hi! Ready for Thursday?",
                                                                    "client_id": "9b2c6c1e"}}})
@blp.response(201, ChatMessageSchema)
@blp.alt_response(200, schema=ChatMessageSchema, description="Already stored under this client_id")
@blp.alt_response(403, description="A participant blocked me")
@blp.alt_response(429, description="Too many messages")
@unit_of_work()
def send_message(body, conversation_id):
    message, created = services.send_message(current_user.id, conversation_id, body["body"], body.get("client_id"),
                                             body["attachment_ids"])
    return message, 201 if created else 200


@blp.route("/conversations/<int:conversation_id>/read", methods=["POST"])
@auth_required()
@blp.doc(operationId="markConversationRead")
@blp.doc(summary="Mark read up to a message",
         description="Moves my read marker forward (never back) and emits `message:read` to the conversation.")
@blp.arguments(ReadSchema, examples={"example": {"value": {"up_to_message_id": 42}}})
@blp.response(200, ReadReceiptSchema)
@unit_of_work()
def mark_read(body, conversation_id):
    return services.mark_read(current_user.id, conversation_id, body["up_to_message_id"])


@blp.route("/attachments", methods=["POST"])
@auth_required()
@blp.doc(summary="Upload an attachment",
         description="Multipart `file`: PDF, PNG, JPEG, WebP, GIF, DOCX, XLSX, PPTX or plain text, recognised "
                     "from its bytes; at most ATTACHMENT_MAX_BYTES (10 MB). Send its id in a message's "
                     "attachment_ids. Per user, at most ATTACHMENT_DAILY_QUOTA_BYTES (100 MiB) per 24 hours and "
                     "ATTACHMENT_UNSENT_QUOTA_BYTES (30 MiB) of uploads not yet sent (429 past either); an upload "
                     "not sent within ATTACHMENT_UNSENT_MAX_AGE_HOURS (24) is deleted.")
@blp.arguments(AttachmentUploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@blp.alt_response(413, description="File too large")
@blp.alt_response(415, description="File type not accepted")
@blp.alt_response(429, description="Daily upload quota or unsent-uploads cap reached")
@unit_of_work()
def upload_attachment(_files):
    return services.public_attachment(services.upload_attachment(current_user.id, request.files.get("file")))


@blp.route("/attachments/<int:attachment_id>", methods=["GET"])
@auth_required()
@blp.doc(summary="An attachment with a fresh download URL",
         description="For its uploader and the participants of the conversation it was sent in; else 404.")
@blp.response(200, AttachmentSchema)
def get_attachment(attachment_id):
    return services.public_attachment(services.get_visible_attachment(attachment_id, current_user.id))


@blp.route("/users/<int:user_id>/block", methods=["POST"])
@auth_required()
@blp.doc(summary="Block a user", description="Their new messages to me are refused (403). Idempotent.")
@blp.response(204)
@unit_of_work()
def block_user(user_id):
    services.block(current_user.id, user_id)


@blp.route("/users/<int:user_id>/block", methods=["DELETE"])
@auth_required()
@blp.doc(summary="Unblock a user", description="Idempotent.")
@blp.response(204)
@unit_of_work()
def unblock_user(user_id):
    services.unblock(current_user.id, user_id)
