from flask import send_file

from app.common import storage
from app.common.api import Blueprint

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="Signed file downloads")


@blp.route("/<token>")
@blp.doc(operationId="downloadFile")
@blp.doc(summary="Download a file", description="Serves a stored file named by a signed, expiring token.")
@blp.response(200, description="The file's bytes")
def download(token):
    key, content_type = storage.resolve_token(token)
    response = send_file(storage.open_path(key), mimetype=content_type, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
